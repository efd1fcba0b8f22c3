// Connectors: where a subject's data lives. One folder per type under
// connectors/<type>/, registered by type name; the executor only ever sees
// this interface.
//
// Every connector exposes collections (tables, object prefixes, vector
// collections, log file sets). A collection's items tie to the subject through
// links: "column equals one of these values", where the values come from the
// subject's identities or from columns of items already found elsewhere.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/status.h"
#include "lethe/util/names.h"

namespace lethe {

// One thing found for the subject: a row, an object, a log line, a vector entry.
struct Item {
  std::string key;        // what Erase/Update take: primary key value, object key, chroma id, ...
  nlohmann::json fields;  // the record as JSON; objects: {"key", "size", ...}
  int64_t size = 0;       // objects: bytes of content (streamed by ReadObject)
};

// An item belongs to the subject when ANY term matches: its `column` equals
// one of `values` (for object collections the column is "prefix" and the
// object key must start with one of the values).
struct MatchTerm {
  std::string column;
  std::vector<std::string> values;
};
using Match = std::vector<MatchTerm>;

// What erasure does to a collection's items.
struct EraseAction {
  enum class Kind { kDelete, kMask, kKeep, kDrop /* jsonl: drop lines */, kRedact /* jsonl: redact fields */ };
  Kind kind = Kind::kDelete;
  std::map<std::string, std::string> mask;  // kMask: column -> "null" | "redact" | "hash"
  std::vector<std::string> redact;          // kRedact: field names
  std::string hash_key;                     // keyed hash for "hash" masks (set by the executor)
};

struct Retention {
  std::string basis;   // legal_obligation, legal_claims, public_interest, archiving, freedom_of_expression
  std::string note;
  std::string period;  // ISO 8601 duration, e.g. P7Y
  std::string from;    // column the period counts from
};

// A collection as configured, independent of connector type.
struct CollectionSpec {
  std::string connector;
  std::string name;
  std::string pointer;       // JSON pointer of this collection in the config file
  std::string primary_key;   // tables; empty for objects/log lines
  // Links: column -> value template. Templates are "{identity.email}",
  // "{app.users.id}" (connector.collection.column) or a string containing one
  // placeholder ("{app.users.id}/" for object prefixes). Config's "identity"
  // and "references" are both normalized into links.
  struct Link {
    std::string column;
    std::string value_template;
    std::string pointer;     // JSON pointer of the link in config, for errors
  };
  std::vector<Link> links;
  std::vector<std::string> categories;
  std::string purpose;
  bool portable = false;
  bool objects = false;      // items carry content (files/<connector>/<key> in exports)
  EraseAction erase;
  std::optional<Retention> retain;
  std::vector<std::string> rectify;               // fields that may be corrected
  nlohmann::json restrict_set;                    // {"column": value} applied by restriction, or null
  std::vector<std::string> omit;                  // columns left out of exports (e.g. embeddings)
};

class Connector {
 public:
  virtual ~Connector() = default;

  virtual const std::string& name() const = 0;
  virtual const std::vector<CollectionSpec>& collections() const = 0;

  // Reaches the system and checks that every collection and column exists.
  virtual Status Connect() = 0;

  // Streams the items of `c` matching `m` to `sink`; a non-OK Status from the
  // sink stops the scan and is returned. Must not hold all items in memory.
  virtual Status Find(const CollectionSpec& c, const Match& m,
                      const std::function<Status(const Item&)>& sink) = 0;

  // Like Find, for callers that need only each item's key and these columns
  // of its fields (erasure, rectification, restriction: the keys to act on and
  // the values that lead to other collections). Items may carry more fields;
  // by default they carry them all.
  virtual Status FindColumns(const CollectionSpec& c, const Match& m, const std::vector<std::string>& columns,
                             const std::function<Status(const Item&)>& sink) {
    return Find(c, m, sink);
  }

  // Streams an object's content in chunks (object collections only).
  virtual Status ReadObject(const CollectionSpec& c, const Item& item,
                            const std::function<Status(std::string_view)>& sink) {
    return Status::Invalid("collection " + c.name + " has no object content");
  }

  // Applies `a` to the items with these keys (or, for collections without
  // keys such as log files, to items matching `m`). Idempotent: keys already
  // gone are not an error. Returns how many items were changed.
  virtual Result<int64_t> Erase(const CollectionSpec& c, const Match& m,
                                const std::vector<std::string>& keys, const EraseAction& a) = 0;

  // Sets fields on the items with these keys (rectification, restriction).
  virtual Result<int64_t> Update(const CollectionSpec& c, const std::vector<std::string>& keys,
                                 const nlohmann::json& set) {
    return Status::Invalid("connector " + name() + " cannot update items");
  }
};

struct ConnectorContext {
  std::string base_dir;                                         // resolve relative paths here
  std::function<std::optional<std::string>(const std::string&)> env;  // read *_env secrets
};

// Builds a connector from its config object (at JSON pointer `pointer` in the
// config file), validating it; errors carry the pointer of the bad field.
using ConnectorFactory = std::function<Result<std::unique_ptr<Connector>>(
    const nlohmann::json& config, const std::string& pointer, const ConnectorContext& ctx)>;

void RegisterConnectorType(const std::string& type, ConnectorFactory factory);
const ConnectorFactory* FindConnectorType(const std::string& type);
std::vector<std::string> ConnectorTypes();

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

// Registers a connector type at static-initialization time. Connector folders
// are linked as object libraries so the registration is never dropped. The
// variable is named after the line (pasted through LETHE_STATUS_CONCAT_ so
// __LINE__ expands) so one file may register more than one type.
#define LETHE_REGISTER_CONNECTOR(type, factory)                              \
  namespace {                                                                \
  const bool LETHE_STATUS_CONCAT_(lethe_registered_, __LINE__) = [] {       \
    ::lethe::RegisterConnectorType(type, factory);                           \
    return true;                                                             \
  }();                                                                       \
  }
