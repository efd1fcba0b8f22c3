// The executor side of Lethe: the data graph built from config's connectors,
// `lethe check`, and the Executor that carries out requests over it.
//
// The graph's nodes are collections; an edge runs from a collection to every
// collection whose links read its columns ({app.users.id}). Discovery walks
// the nodes in dependency order; erasure executes them in reverse, so rows
// that lead to other rows are deleted last and an interrupted erasure can
// always find what is left.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lethe/config.h"
#include "lethe/connector.h"
#include "lethe/executor.h"
#include "lethe/request.h"
#include "lethe/status.h"
#include "lethe/store.h"

namespace lethe {

// Where one link's values come from, after resolving its template.
struct LinkSource {
  bool identity = false;
  std::string identity_kind;   // identity: "email", "user_id", "phone" or a custom kind
  size_t node = 0;             // otherwise: index of the source collection in DataGraph::nodes()
  std::string column;          // ... and its column
  std::string prefix, suffix;  // text around the placeholder ("{app.users.id}/" -> suffix "/")
};

struct GraphNode {
  Connector* connector = nullptr;
  const CollectionSpec* spec = nullptr;
  std::string id;                   // "connector.collection"
  std::string type;                 // connector type
  std::vector<LinkSource> sources;  // parallel to spec->links
  std::set<size_t> after;           // nodes this one reads values from
};

class DataGraph {
 public:
  // Creates every connector through its registered factory (validating its
  // config) and resolves every link. Errors carry the config pointer:
  // unknown type (/connectors/i/type), duplicate names, placeholders that
  // name nothing, reference cycles.
  static Result<std::unique_ptr<DataGraph>> Build(const nlohmann::json& connectors, const ConnectorContext& ctx);
  static Result<std::unique_ptr<DataGraph>> Build(const Config& config);

  // Connect()s each connector once (later calls only retry failed ones).
  Status ConnectAll();

  // Nodes in dependency order: every node comes after the nodes it reads.
  const std::vector<GraphNode>& nodes() const { return nodes_; }
  // Columns of node i that other nodes read (all that discovery keeps).
  const std::set<std::string>& referenced_columns(size_t i) const { return referenced_[i]; }

  // For `lethe check`: connectors, order, and per collection its links.
  nlohmann::json Describe() const;

 private:
  std::vector<std::unique_ptr<Connector>> connectors_;
  std::vector<std::string> connector_types_;
  std::vector<bool> connected_;
  std::vector<GraphNode> nodes_;
  std::vector<std::set<std::string>> referenced_;
};

// Values found so far per (node, column) during discovery.
using FoundValues = std::vector<std::map<std::string, std::set<std::string>>>;

// The identities data may be found through (contract §3, Identity): the
// proved ones, and each claimed one that a keyed collection ties to a proved
// one (the users row found by the proved email has id 42, so a claimed
// user_id 42 is the same person's). Nothing else.
struct ProvedSubject {
  Subject subject;                    // proved + tied identities only
  std::vector<std::string> tied;      // claimed kinds proved through a keyed collection
  std::vector<std::string> unproved;  // claimed kinds that find nothing
};
Result<ProvedSubject> ProveIdentities(DataGraph& g, const Subject& claimed, const std::set<std::string>& proved);

// Walks the graph for `subject` in dependency order. For every item found,
// calls visit(node index, item) (which may be empty). Returns the values of
// referenced columns, which is also what later Match()es are built from.
// Queries are batched so no Match carries more than `batch` values.
// keys_only: visit needs only item keys, so connectors may leave out the
// fields no other collection refers to (Connector::FindColumns).
Result<FoundValues> Discover(DataGraph& g, const Subject& subject,
                             const std::function<Status(size_t, const Item&)>& visit, size_t batch = 500,
                             bool keys_only = false);

// The Match terms for node i given the values found so far, each term's
// values split into pieces of at most `batch` values.
std::vector<Match> MatchesFor(const DataGraph& g, size_t i, const Subject& subject, const FoundValues& found,
                              size_t batch = 500);

// `lethe check`: builds the graph, connects every connector, describes it.
Result<nlohmann::json> CheckConnectors(const Config& config);

struct ExecutorOptions {
  std::string exports_dir;      // absolute, or relative to the working directory
  std::string export_password;  // empty: no zip encryption
  nlohmann::json recipients = nlohmann::json::array();
  std::string hash_key;  // keyed hash for masks and subject pseudonyms
  size_t batch = 500;    // values per query; erasure writes start here and double while quick
  // config backups.retention: erasure results say by when backups holding
  // the erased data are gone (completion + this).
  std::optional<Duration> backups_retention;
  std::string backups_retention_text;  // as configured, e.g. "P30D"
};

// The Executor over a built graph. What Execute does, by type; what it
// returns is an Outcome (lethe/outcome.h: each field with its meaning).
//
//  access, portability  zip at <exports_dir>/<request id>.zip (portability:
//      only "portable" collections) with manifest.json, report.html,
//      data/<connector>/<collection>.json, files/<connector>/<object key>.
//  erasure  tasks (connector, collection, "erase") executed in reverse
//      dependency order in batches; keys resolved up front are kept in store
//      records of kind "erase_keys" until their task is done. Anything left
//      in a delete/drop collection afterwards fails the request (Io). A
//      retained collection's rows whose period (from its `from` column) has
//      ended are deleted (expired_deleted); the rows it keeps go into the
//      ledger of store records "kept" (src/exec/retention.h), which
//      PurgeExpiredKept erases when their period ends, and which later access
//      requests list under "kept" in manifest.json.
//  rectification  params {"field": new value, ...} or {"fields": {...},
//      "collection": "connector.collection"}; a field must be listed in the
//      "rectify" of some collection (else kInvalid at /params/<field>).
//  restriction, objection  each collection's "restrict" {"set": ...} is
//      written to the subject's rows; store record ("restriction", subject
//      pseudonym) (and ("objection", pseudonym)) lets the host app check.
//
// Plan() is the dry run of an erasure: {"collections": [{"connector",
// "collection", "action": delete|mask|keep|drop|redact, "rows", "objects"?,
// "retention", "expired"? (retained rows past their period: deleted), "mask"?}],
// "totals": {"delete", "mask", "keep"}}. MakeExecutor reads exports, recipients and
// the export password (kInvalid if export_password_env names an unset
// variable) from config.
Result<std::unique_ptr<Executor>> MakeExecutor(const Config& config, Store& store, std::string hash_key);
std::unique_ptr<Executor> MakeExecutor(std::unique_ptr<DataGraph> graph, Store& store, ExecutorOptions options);

}  // namespace lethe
