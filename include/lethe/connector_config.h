// Reading connector config: what every factory does the same way.
//
// A factory gets its connector's JSON object and the object's JSON pointer
// in the config file. ConnectorConfigReader (like Envoy's typed factory base)
// checks that it is an object of the right "type", reads "name" and the
// type's own keys, and refuses unknown or missing keys, every error naming
// the field by its JSON pointer. The parsers of collection entries shared by
// several types follow it.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/connector.h"
#include "lethe/status.h"
#include "lethe/util/names.h"

namespace lethe {

// Reads one connector config object. Each getter marks its key as known and
// returns the value (or a default when the key is absent); the first error is
// kept, later calls then do nothing. Finish() adds the unknown-key check and
// returns that first error:
//
//   ConnectorConfigReader r(config, pointer, ctx, "sqlite");
//   std::string name = r.Name();
//   std::string path = r.Path("path", ConnectorConfigReader::kRequired);
//   const nlohmann::json* colls = r.NonEmptyArray("collections", ConnectorConfigReader::kRequired);
//   LETHE_RETURN_IF_ERROR(r.Finish());
//
// Not thread-safe; one reader per factory call.
class ConnectorConfigReader {
 public:
  enum Presence { kOptional, kRequired };

  // REQUIRES: `config` outlives the reader. Fails (status()) unless config
  // is an object whose "type" is `type`.
  ConnectorConfigReader(const nlohmann::json& config, std::string pointer, const ConnectorContext& ctx,
                        std::string type);

  // "name": required, a plain name (IsPlainName): names become file names
  // in exports.
  std::string Name();
  // A non-empty string without NUL bytes; `what` says what it must be
  // ("a file path"). "" when absent.
  std::string String(const std::string& key, Presence presence, const std::string& what);
  // Like String, resolved against the context's base directory when relative.
  std::string Path(const std::string& key, Presence presence);
  // An array of non-empty strings, each resolved like Path.
  std::vector<std::string> Paths(const std::string& key);
  // A secret given either in clear under `key` or as the name of an
  // environment variable under `key` + "_env" (one of them; both is an
  // error). With kRequired one of them must be there. nullopt when absent.
  std::optional<std::string> StringOrEnv(const std::string& key, Presence presence, const std::string& what);
  // The value of the environment variable named under `key` (which must be
  // set and not empty). "" when absent.
  std::string Env(const std::string& key, Presence presence);
  bool Bool(const std::string& key, bool fallback);
  // A non-empty array, returned for the type's own parsing; nullptr when absent.
  const nlohmann::json* NonEmptyArray(const std::string& key, Presence presence);
  // Any value, for keys a type checks itself (fail with Fail(key, ...)); nullptr when absent.
  const nlohmann::json* Raw(const std::string& key, Presence presence);

  // Records an error at `key`'s pointer (the first error wins).
  void Fail(const std::string& key, const std::string& message);
  // The JSON pointer of `key` in the config file.
  std::string Pointer(const std::string& key) const;
  const std::string& pointer() const { return pointer_; }
  const Status& status() const { return status_; }
  // Unknown keys are errors; returns the first error, or OK.
  Status Finish();

 private:
  const nlohmann::json* Find(const std::string& key, Presence presence);
  std::string Resolve(const std::string& path) const;

  const nlohmann::json& config_;
  std::string pointer_;
  const ConnectorContext& ctx_;
  std::string type_;
  std::set<std::string> known_;
  Status status_;
};

// Parses the collection keys shared by table-like connectors (sqlite, postgres):
// name, primary_key, identity, references, categories, purpose, portable,
// erase, retain, rectify, restrict, omit. References "users.id" are made
// "{<connector>.users.id}". Unknown keys are errors.
Result<CollectionSpec> ParseTableCollection(const nlohmann::json& j, const std::string& connector,
                                            const std::string& pointer);

// Parses a "retain" object {basis, note, period, from}. `from_ok` decides
// whether the field the period counts from fits the collection type (a
// column, an object's "modified", a log field).
using FieldCheck = std::function<Status(const std::string& field, const std::string& pointer)>;
Status ParseRetention(const nlohmann::json& v, const std::string& pointer, const FieldCheck& from_ok, Retention* r);

// An array of strings at `pointer` appended to *out. With `non_empty`, the
// array and each string must be non-empty (file patterns, redacted fields).
Status ParseStringList(const nlohmann::json& v, const std::string& pointer, std::vector<std::string>* out,
                       bool non_empty = false);

// The keys every collection type shares and means the same by: "categories"
// (strings), "purpose" (a string), "portable" (true/false). Returns true when
// `key` is one of them (its value parsed into *c, or *st set to the error),
// false for any other key, which the caller then handles.
bool ParseDescriptiveKey(const std::string& key, const nlohmann::json& v, const std::string& pointer, CollectionSpec* c,
                         Status* st);

// "erase": "delete" | "keep", for types that cannot mask (`what` says which
// items, e.g. "objects", in the refusal).
Status ParseDeleteOrKeep(const nlohmann::json& v, const std::string& pointer, const std::string& what,
                         EraseAction* erase);

// [A-Za-z0-9_-]{1,128}: connector and collection names become file names in
// exports (data/<connector>/<collection>.json), so they are kept plain. The
// one definition is lethe/util/names.h.
using util::IsPlainName;

// Checks a literal object key or prefix for a connector type (filesystem:
// safe relative path; s3: valid S3 key). `what` names it in the message.
using ObjectKeyCheck = std::function<Status(std::string_view key, const std::string& what)>;

// Parses the `objects` array of an object-store connector (filesystem, s3) at
// JSON pointer `pointer`. Each entry: name, prefix (a template with a
// placeholder, not ending in one), categories, purpose, portable, erase
// ("delete"|"keep"), retain. Entries are named by "name", or "objects",
// "objects_1", ... by position; names must be unique.
Result<std::vector<CollectionSpec>> ParseObjectCollections(const nlohmann::json& objects, const std::string& connector,
                                                           const std::string& pointer, const ObjectKeyCheck& check);

// Quotes an SQL identifier after checking it is [A-Za-z_][A-Za-z0-9_]* (config
// names are never trusted into SQL text unchecked).
Result<std::string> QuoteIdentifier(std::string_view name, const std::string& pointer);

}  // namespace lethe
