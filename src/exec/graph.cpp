// The data graph: connectors built from config, link templates resolved,
// collections ordered so every collection comes after those it reads.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "exec/util.h"
#include "lethe/exec.h"

namespace lethe {
namespace {

struct Placeholder {
  std::string inner;  // "identity.email", "app.users.id"
  std::string prefix, suffix;
};

// A template holds exactly one {placeholder}, optionally with text around it.
Result<Placeholder> ParseTemplate(const std::string& t, const std::string& pointer) {
  size_t open = t.find('{');
  size_t close = t.find('}');
  if (open == std::string::npos || close == std::string::npos || close < open ||
      t.find('{', open + 1) != std::string::npos || t.find('}', close + 1) != std::string::npos) {
    return Status::Invalid("\"" + t + "\" must contain exactly one {placeholder}", pointer);
  }
  Placeholder p;
  p.prefix = t.substr(0, open);
  p.inner = t.substr(open + 1, close - open - 1);
  p.suffix = t.substr(close + 1);
  return p;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

std::string ValueText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned() || v.is_number_float()) return v.dump();
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  return "";
}

const char* EraseName(const EraseAction& a) {
  switch (a.kind) {
    case EraseAction::Kind::kDelete: return "delete";
    case EraseAction::Kind::kMask: return "mask";
    case EraseAction::Kind::kKeep: return "keep";
    case EraseAction::Kind::kDrop: return "drop";
    case EraseAction::Kind::kRedact: return "redact";
  }
  return "?";
}

}  // namespace

Result<std::unique_ptr<DataGraph>> DataGraph::Build(const Config& config) {
  ConnectorContext ctx;
  ctx.base_dir = config.base_dir;
  ctx.env = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  // Errors carry the pointer; callers that print them add the file name
  // (`lethe check` prints "config.json: /connectors/0/...: message").
  return Build(config.connectors, ctx);
}

Result<std::unique_ptr<DataGraph>> DataGraph::Build(const nlohmann::json& connectors, const ConnectorContext& ctx) {
  auto g = std::unique_ptr<DataGraph>(new DataGraph());
  if (!connectors.is_array()) return Status::Invalid("must be an array", "/connectors");

  // 1. Connectors, through their registered factories.
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < connectors.size(); ++i) {
    const std::string p = "/connectors/" + std::to_string(i);
    const auto& cj = connectors[i];
    if (!cj.is_object()) return Status::Invalid("a connector must be an object", p);
    if (!cj.contains("type") || !cj["type"].is_string())
      return Status::Invalid("connector needs a \"type\"", p + "/type");
    const std::string type = cj["type"].get<std::string>();
    const ConnectorFactory* factory = FindConnectorType(type);
    if (factory == nullptr) {
      std::string known;
      for (const auto& t : ConnectorTypes()) known += (known.empty() ? "" : ", ") + t;
      return Status::Invalid("unknown connector type \"" + type + "\" (known: " + known + ")", p + "/type");
    }
    LETHE_ASSIGN_OR_RETURN(auto c, (*factory)(cj, p, ctx));
    const std::string& name = c->name();
    // Names appear in placeholders, task records and zip paths: plain only.
    bool plain = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](unsigned char ch) {
      return std::isalnum(ch) || ch == '_' || ch == '-';
    });
    if (!plain) return Status::Invalid("connector name \"" + name + "\" must be plain ([A-Za-z0-9_-]+)", p + "/name");
    if (!by_name.emplace(name, i).second) {
      return Status::Invalid("duplicate connector name \"" + name + "\"", p + "/name");
    }
    g->connectors_.push_back(std::move(c));
    g->connector_types_.push_back(type);
  }
  g->connected_.assign(g->connectors_.size(), false);

  // 2. Collections, in config order for now.
  std::vector<GraphNode> nodes;
  std::map<std::string, size_t> by_id;
  for (size_t ci = 0; ci < g->connectors_.size(); ++ci) {
    Connector* conn = g->connectors_[ci].get();
    for (const auto& spec : conn->collections()) {
      GraphNode n;
      n.connector = conn;
      n.spec = &spec;
      n.id = conn->name() + "." + spec.name;
      n.type = g->connector_types_[ci];
      if (!by_id.emplace(n.id, nodes.size()).second) {
        return Status::Invalid("duplicate collection \"" + n.id + "\"", spec.pointer);
      }
      nodes.push_back(std::move(n));
    }
  }

  // 3. Links: every placeholder names an identity kind or a known collection.
  for (auto& n : nodes) {
    for (const auto& link : n.spec->links) {
      LETHE_ASSIGN_OR_RETURN(auto ph, ParseTemplate(link.value_template, link.pointer));
      LinkSource src;
      src.prefix = ph.prefix;
      src.suffix = ph.suffix;
      std::vector<std::string> parts = Split(ph.inner, '.');
      if (parts.size() == 2 && parts[0] == "identity" && !parts[1].empty()) {
        src.identity = true;
        src.identity_kind = parts[1];
      } else if (parts.size() == 3 && !parts[0].empty() && !parts[1].empty() && !parts[2].empty()) {
        auto it = by_id.find(parts[0] + "." + parts[1]);
        if (it == by_id.end()) {
          if (by_name.count(parts[0]) == 0) {
            return Status::Invalid("unknown connector \"" + parts[0] + "\" in {" + ph.inner + "}", link.pointer);
          }
          return Status::Invalid("unknown collection \"" + parts[0] + "." + parts[1] + "\" in {" + ph.inner + "}",
                                 link.pointer);
        }
        src.node = it->second;
        src.column = parts[2];
        n.after.insert(src.node);
      } else {
        return Status::Invalid("placeholder {" + ph.inner +
                                   "} names nothing: use {identity.<kind>} or "
                                   "{connector.collection.column}",
                               link.pointer);
      }
      n.sources.push_back(std::move(src));
    }
  }

  // 4. Order (Kahn, stable in config order); what is left over is a cycle.
  std::vector<size_t> order;
  std::vector<bool> placed(nodes.size(), false);
  while (order.size() < nodes.size()) {
    bool progress = false;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (size_t d : nodes[i].after) ready = ready && placed[d];
      if (ready) {
        placed[i] = true;
        order.push_back(i);
        progress = true;
      }
    }
    if (!progress) {
      // Walk back along unplaced dependencies until a node repeats: that is the cycle.
      size_t start = 0;
      while (placed[start]) ++start;
      std::vector<size_t> path;
      std::vector<int> seen_at(nodes.size(), -1);
      size_t cur = start;
      while (seen_at[cur] < 0) {
        seen_at[cur] = static_cast<int>(path.size());
        path.push_back(cur);
        for (size_t d : nodes[cur].after) {
          if (!placed[d]) {
            cur = d;
            break;
          }
        }
      }
      std::string cycle;
      for (size_t k = seen_at[cur]; k < path.size(); ++k) cycle += nodes[path[k]].id + " -> ";
      cycle += nodes[cur].id;
      return Status::Invalid("reference cycle: " + cycle, nodes[cur].spec->pointer);
    }
  }
  std::vector<size_t> new_index(nodes.size());
  for (size_t k = 0; k < order.size(); ++k) new_index[order[k]] = k;
  for (size_t k = 0; k < order.size(); ++k) {
    GraphNode n = nodes[order[k]];
    std::set<size_t> after;
    for (size_t d : n.after) after.insert(new_index[d]);
    n.after = std::move(after);
    for (auto& s : n.sources) {
      if (!s.identity) s.node = new_index[s.node];
    }
    g->nodes_.push_back(std::move(n));
  }
  g->referenced_.assign(g->nodes_.size(), {});
  for (const auto& n : g->nodes_) {
    for (const auto& s : n.sources) {
      if (!s.identity) g->referenced_[s.node].insert(s.column);
    }
  }
  return g;
}

Status DataGraph::ConnectAll() {
  for (size_t i = 0; i < connectors_.size(); ++i) {
    if (connected_[i]) continue;
    Status st = connectors_[i]->Connect();
    if (!st.ok()) return st;
    connected_[i] = true;
  }
  return Status::Ok();
}

nlohmann::json DataGraph::Describe() const {
  nlohmann::json out;
  out["connectors"] = nlohmann::json::array();
  for (size_t i = 0; i < connectors_.size(); ++i) {
    out["connectors"].push_back({{"name", connectors_[i]->name()},
                                 {"type", connector_types_[i]},
                                 {"collections", connectors_[i]->collections().size()},
                                 {"connected", static_cast<bool>(connected_[i])}});
  }
  // Custom identity kinds are allowed, but a typo ("emial") would silently
  // match nothing: point them out.
  out["warnings"] = nlohmann::json::array();
  for (const auto& n : nodes_) {
    for (size_t k = 0; k < n.sources.size(); ++k) {
      const std::string& kind = n.sources[k].identity_kind;
      if (n.sources[k].identity && kind != "email" && kind != "user_id" && kind != "phone") {
        out["warnings"].push_back(n.spec->links[k].pointer + ": identity kind \"" + kind +
                                  "\" is not email, user_id or phone; only requests carrying it will match");
      }
    }
  }
  // An identity typed into a form lands in an object prefix: values with a
  // '/' are refused at intake and at execution, but a reference to a keyed
  // collection ({app.users.id}) is what ties objects to a proved subject.
  for (const auto& n : nodes_) {
    if (!n.spec->objects) continue;
    for (size_t k = 0; k < n.sources.size(); ++k) {
      if (!n.sources[k].identity) continue;
      out["warnings"].push_back(
          n.spec->links[k].pointer + ": object prefix uses {identity." + n.sources[k].identity_kind +
          "}; prefer a reference to a keyed collection (e.g. {app.users.id}) so objects are found "
          "only through a row the subject's proved identity leads to");
    }
  }
  out["order"] = nlohmann::json::array();
  out["collections"] = nlohmann::json::array();
  for (const auto& n : nodes_) {
    out["order"].push_back(n.id);
    nlohmann::json links = nlohmann::json::array();
    for (size_t k = 0; k < n.sources.size(); ++k) {
      links.push_back({{"column", n.spec->links[k].column}, {"value", n.spec->links[k].value_template}});
    }
    nlohmann::json after = nlohmann::json::array();
    for (size_t d : n.after) after.push_back(nodes_[d].id);
    nlohmann::json c = {{"id", n.id},     {"pointer", n.spec->pointer},   {"links", links},
                        {"after", after}, {"portable", n.spec->portable}, {"erase", EraseName(n.spec->erase)}};
    if (n.spec->retain) {
      c["retain"] = {{"basis", n.spec->retain->basis}, {"period", n.spec->retain->period}};
    }
    out["collections"].push_back(std::move(c));
  }
  return out;
}

std::vector<Match> MatchesFor(const DataGraph& g, size_t i, const Subject& subject, const FoundValues& found,
                              size_t batch) {
  const GraphNode& n = g.nodes()[i];
  if (batch == 0) batch = 1;
  std::vector<Match> out;
  for (size_t k = 0; k < n.sources.size(); ++k) {
    const LinkSource& s = n.sources[k];
    const std::string& column = n.spec->links[k].column;
    std::vector<std::string> values;
    if (s.identity) {
      std::string v = subject.Get(s.identity_kind);
      if (!v.empty()) values.push_back(s.prefix + v + s.suffix);
    } else {
      auto it = found[s.node].find(s.column);
      if (it != found[s.node].end()) {
        for (const auto& v : it->second) values.push_back(s.prefix + v + s.suffix);
      }
    }
    for (size_t start = 0; start < values.size(); start += batch) {
      size_t end = std::min(values.size(), start + batch);
      out.push_back(Match{MatchTerm{column, std::vector<std::string>(values.begin() + start, values.begin() + end)}});
    }
  }
  // Small terms travel together in one query: OR of terms is still one Find.
  std::vector<Match> merged;
  size_t in_current = 0;
  for (auto& m : out) {
    size_t n_values = m[0].values.size();
    if (merged.empty() || in_current + n_values > batch) {
      merged.push_back({});
      in_current = 0;
    }
    merged.back().push_back(std::move(m[0]));
    in_current += n_values;
  }
  return merged;
}

namespace {

// Object collections turn values into key prefixes ("{identity.user_id}/"):
// a value holding the delimiter would reach another subject's objects
// ("42/private" under "42/"). Such a value fails the request; the message
// names the placeholder, never the value.
Status CheckPathValues(const DataGraph& g, size_t i, const Subject& subject, const FoundValues& found) {
  const GraphNode& n = g.nodes()[i];
  if (!n.spec->objects) return Status::Ok();
  for (size_t k = 0; k < n.sources.size(); ++k) {
    const LinkSource& s = n.sources[k];
    // The suffix's first character delimits the value ("{id}/", "{id}_"): a
    // value holding it reaches into the next subject's prefix.
    auto bad = [&s](const std::string& v) {
      return v.find('/') != std::string::npos || v.find('\\') != std::string::npos || v == "." || v == ".." ||
             (!s.suffix.empty() && v.find(s.suffix[0]) != std::string::npos);
    };
    if (s.identity) {
      std::string v = subject.Get(s.identity_kind);
      if (!v.empty() && bad(v))
        return Status::Invalid(
            "identity " + s.identity_kind + " contains the prefix delimiter; refusing to use it in an object prefix",
            n.spec->links[k].pointer);
      continue;
    }
    auto it = found[s.node].find(s.column);
    if (it == found[s.node].end()) continue;
    for (const auto& v : it->second)
      if (bad(v))
        return Status::Invalid("a value of " + g.nodes()[s.node].id + "." + s.column +
                                   " contains the prefix delimiter; refusing to use it in an object prefix",
                               n.spec->links[k].pointer);
  }
  return Status::Ok();
}

}  // namespace

Result<ProvedSubject> ProveIdentities(DataGraph& g, const Subject& claimed, const std::set<std::string>& proved) {
  ProvedSubject out;
  out.subject = claimed.Only(proved);
  std::set<std::string> have;
  for (const auto& k : out.subject.Kinds()) have.insert(k);
  std::set<std::string> pending;
  for (const auto& k : claimed.Kinds())
    if (!have.count(k) && k != "ref") pending.insert(k);
  // A claimed identity is tied to a proved one when a keyed row found through
  // the proved identity carries it (the users row found by the proved email
  // has id 42). Each tie can enable the next, so go round until none is new.
  bool changed = true;
  while (changed && !pending.empty()) {
    changed = false;
    for (const GraphNode& n : g.nodes()) {
      if (n.spec->objects || n.spec->primary_key.empty()) continue;
      Match by_proved;
      std::vector<size_t> checks;
      for (size_t k = 0; k < n.sources.size(); ++k) {
        const LinkSource& s = n.sources[k];
        if (!s.identity) continue;
        if (have.count(s.identity_kind)) {
          by_proved.push_back(
              MatchTerm{n.spec->links[k].column, {s.prefix + out.subject.Get(s.identity_kind) + s.suffix}});
        } else if (pending.count(s.identity_kind)) {
          checks.push_back(k);
        }
      }
      if (by_proved.empty() || checks.empty()) continue;
      std::vector<std::string> columns;
      for (size_t k : checks) columns.push_back(n.spec->links[k].column);
      std::set<std::string> tied;
      Status st = n.connector->FindColumns(*n.spec, by_proved, columns, [&](const Item& item) -> Status {
        for (size_t k : checks) {
          const LinkSource& s = n.sources[k];
          auto it = item.fields.find(n.spec->links[k].column);
          if (it != item.fields.end() && ValueText(*it) == s.prefix + claimed.Get(s.identity_kind) + s.suffix)
            tied.insert(s.identity_kind);
        }
        return Status::Ok();
      });
      if (!st.ok()) return st;
      for (const auto& kind : tied) {
        if (!pending.erase(kind)) continue;
        out.subject.Set(kind, claimed.Get(kind));
        have.insert(kind);
        out.tied.push_back(kind);
        changed = true;
      }
    }
  }
  out.unproved.assign(pending.begin(), pending.end());
  return out;
}

Result<FoundValues> Discover(DataGraph& g, const Subject& subject,
                             const std::function<Status(size_t, const Item&)>& visit, size_t batch, bool keys_only) {
  FoundValues found(g.nodes().size());
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const GraphNode& n = g.nodes()[i];
    const auto& keep = g.referenced_columns(i);
    LETHE_RETURN_IF_ERROR(CheckPathValues(g, i, subject, found));
    std::vector<Match> matches = MatchesFor(g, i, subject, found, batch);
    // An item matched by two batches, or by two terms of one query, must be
    // reported once; keys identify items. Visitors rely on this (erasure
    // keeps the keys as found, without checking them again).
    std::unordered_set<std::string> seen;
    bool dedupe = matches.size() > 1 || (matches.size() == 1 && matches[0].size() > 1);
    std::vector<std::string> columns(keep.begin(), keep.end());
    // Erasure decides per row whether its retention period has ended, so the
    // column the period counts from travels with the keys.
    if (n.spec->retain && !n.spec->retain->from.empty() && !keep.count(n.spec->retain->from)) {
      columns.push_back(n.spec->retain->from);
    }
    for (const Match& m : matches) {
      auto sink = [&](const Item& item) -> Status {
        if (dedupe && !item.key.empty() && !seen.insert(item.key).second) return Status::Ok();
        for (const auto& col : keep) {
          auto it = item.fields.find(col);
          if (it == item.fields.end()) continue;
          std::string v = ValueText(*it);
          if (!v.empty()) found[i][col].insert(std::move(v));
        }
        return visit ? visit(i, item) : Status::Ok();
      };
      Status st = keys_only ? n.connector->FindColumns(*n.spec, m, columns, sink) : n.connector->Find(*n.spec, m, sink);
      if (!st.ok()) return st;
    }
  }
  return found;
}

Result<nlohmann::json> CheckConnectors(const Config& config) {
  LETHE_ASSIGN_OR_RETURN(auto g, DataGraph::Build(config));
  LETHE_RETURN_IF_ERROR(g->ConnectAll());
  return g->Describe();
}

}  // namespace lethe
