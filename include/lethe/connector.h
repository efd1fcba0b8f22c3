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
  std::string basis;  // legal_obligation, legal_claims, public_interest, archiving, freedom_of_expression
  std::string note;
  std::string period;  // ISO 8601 duration, e.g. P7Y
  std::string from;    // column the period counts from
};

// A collection as configured, independent of connector type.
struct CollectionSpec {
  std::string connector;
  std::string name;
  std::string pointer;      // JSON pointer of this collection in the config file
  std::string primary_key;  // tables; empty for objects/log lines
  // Links: column -> value template. Templates are "{identity.email}",
  // "{app.users.id}" (connector.collection.column) or a string containing one
  // placeholder ("{app.users.id}/" for object prefixes). Config's "identity"
  // and "references" are both normalized into links.
  struct Link {
    std::string column;
    std::string value_template;
    std::string pointer;  // JSON pointer of the link in config, for errors
  };
  std::vector<Link> links;
  std::vector<std::string> categories;
  std::string purpose;
  bool portable = false;
  bool objects = false;  // items carry content (files/<connector>/<key> in exports)
  EraseAction erase;
  std::optional<Retention> retain;
  std::vector<std::string> rectify;  // fields that may be corrected
  nlohmann::json restrict_set;       // {"column": value} applied by restriction, or null
  std::vector<std::string> omit;     // columns left out of exports (e.g. embeddings)
};

// The contract every connector type keeps (tests/connectors/contract/ checks
// it against each type's real system):
//
// Thread safety. Connect() is called once, before any other method, and not
// concurrently with anything. After it returned OK, every method may be
// called by any number of threads at once; a connector serialises what its
// system needs serialised (one SQLite handle, one libpq connection per call).
//
// Re-entry. A connector never holds a lock of its own while it runs a
// caller's callback (a Find, FindColumns or ReadObject sink). A sink may
// therefore call any method of the same connector, from its own thread or by
// waiting for another thread that does: Find inside Find, Erase of another
// subject's items, ReadObject of the item it was handed. Erasing items of the
// collection being scanned from inside the scan does not deadlock, but the
// scan may then miss matching items (chroma pages by offset, and a page
// shifts when entries before it go): collect keys first, then erase.
//
// Cancellation. A sink that returns a non-OK Status stops the call: the sink
// is not called again, and the call returns exactly that Status. The
// connector stays usable.
//
// Values never widen a match. Identity values and values found elsewhere
// reach the system only as data (bound parameters, JSON bodies, literal key
// prefixes), so quotes, commas, braces, wildcards ("%", "*", "?") or
// operators in a value match only items whose column holds exactly that
// value (objects: whose key starts with exactly that prefix). A value that
// cannot be sent safely (a NUL byte, a prefix leaving the root) is refused
// with kInvalid, never widened or truncated.
//
// Errors. kInvalid: the call or the config is wrong (a missing column, a
// mask on a type that cannot mask); kUnavailable: the system cannot be
// reached (connection refused, timeout, HTTP 5xx); kIo: the system answered
// with an error; kNotFound: ReadObject's object is gone; kInternal: a
// connector bug. Messages name connectors, collections, columns and codes,
// never a value (they reach logs, events and mail).
class Connector {
 public:
  virtual ~Connector() = default;

  // The connector's name in config and its collections, as parsed by the
  // factory. Constant for the connector's life; never blocks.
  virtual const std::string& name() const = 0;
  virtual const std::vector<CollectionSpec>& collections() const = 0;

  // Reaches the system and checks that every collection and column exists.
  // OK: ready. kInvalid (field = the config pointer of what is missing): a
  // table, column, bucket or collection named in config does not exist.
  // kUnavailable: the system cannot be reached. May be called again after a
  // failure.
  virtual Status Connect() = 0;

  // Streams the items of `c` matching `m` to `sink`, each once (an item
  // matched by two terms or values is reported once). Must not hold all
  // items in memory.
  // REQUIRES: `c` is one of collections(); every term's column is one of
  // c's link columns ("prefix" for object collections).
  // OK: every matching item was passed to `sink` (none, when `m` is empty
  // or its terms have no values). A sink's non-OK Status stops the scan and
  // is returned as it is. kInvalid: a value that cannot be sent safely.
  virtual Status Find(const CollectionSpec& c, const Match& m, const std::function<Status(const Item&)>& sink) = 0;

  // Like Find, for callers that need only each item's key and these columns
  // of its fields (erasure, rectification, restriction: the keys to act on and
  // the values that lead to other collections). Items may carry more fields;
  // by default they carry them all. Same outcomes as Find.
  virtual Status FindColumns(const CollectionSpec& c, const Match& m, const std::vector<std::string>& columns,
                             const std::function<Status(const Item&)>& sink) {
    return Find(c, m, sink);
  }

  // Streams an object's content in chunks (object collections only).
  // REQUIRES: `item` came from Find on `c`.
  // OK: the whole content was passed to `sink`. kNotFound: the object is
  // gone. kInvalid: `c` has no object content, or the key is unsafe. A
  // sink's non-OK Status stops the transfer and is returned as it is.
  virtual Status ReadObject(const CollectionSpec& c, const Item& item,
                            const std::function<Status(std::string_view)>& sink) {
    return Status::Invalid("collection " + c.name + " has no object content");
  }

  // Applies `a` to the items with these keys (or, for collections without
  // keys such as log files, to items matching `m`).
  // REQUIRES: `keys` came from Find on `c` with match `m`; `a` is one the
  // collection's type supports (table types: delete, mask, keep; objects
  // and vectors: delete, keep; jsonl: drop, redact, keep); a "hash" mask
  // carries a hash_key.
  // Returns how many items it changed: 0 for keep, and 0 when run again
  // (keys already gone and values already masked or redacted are not
  // changed again, and not an error), so a resumed erasure reports only
  // what it did. kInvalid: an action the type cannot apply (never falls
  // back to another action). A failure may leave earlier batches applied;
  // each batch is applied whole or not at all where the system allows.
  virtual Result<int64_t> Erase(const CollectionSpec& c, const Match& m, const std::vector<std::string>& keys,
                                const EraseAction& a) = 0;

  // Sets fields on the items with these keys (rectification, restriction).
  // Returns how many items it matched. kInvalid: the type cannot update, or
  // a field is not a column of `c`.
  virtual Result<int64_t> Update(const CollectionSpec& c, const std::vector<std::string>& keys,
                                 const nlohmann::json& set) {
    return Status::Invalid("connector " + name() + " cannot update items");
  }
};

struct ConnectorContext {
  std::string base_dir;                                               // resolve relative paths here
  std::function<std::optional<std::string>(const std::string&)> env;  // read *_env secrets
};

// Builds a connector from its config object (at JSON pointer `pointer` in the
// config file), validating it; errors carry the pointer of the bad field.
// Factories read their config with ConnectorConfigReader
// (lethe/connector_config.h), which also has the shared collection parsers.
using ConnectorFactory = std::function<Result<std::unique_ptr<Connector>>(
    const nlohmann::json& config, const std::string& pointer, const ConnectorContext& ctx)>;

void RegisterConnectorType(const std::string& type, ConnectorFactory factory);
const ConnectorFactory* FindConnectorType(const std::string& type);
std::vector<std::string> ConnectorTypes();

}  // namespace lethe

// Registers a connector type at static-initialization time. Connector folders
// are linked as object libraries so the registration is never dropped. The
// variable is named after the line (pasted through LETHE_STATUS_CONCAT_ so
// __LINE__ expands) so one file may register more than one type.
#define LETHE_REGISTER_CONNECTOR(type, factory)                       \
  namespace {                                                         \
  const bool LETHE_STATUS_CONCAT_(lethe_registered_, __LINE__) = [] { \
    ::lethe::RegisterConnectorType(type, factory);                    \
    return true;                                                      \
  }();                                                                \
  }
