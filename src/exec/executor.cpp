// GraphExecutor entry points and the helpers its files share (see graph_executor.h).
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "exec/graph_executor.h"
#include "exec/retention.h"
#include "exec/util.h"
#include "lethe/audit.h"

namespace lethe::exec {

using nlohmann::json;

// What erasure does to one collection, once retention is taken into account.
EraseAction EffectiveErase(const CollectionSpec& c) {
  EraseAction a = c.erase;
  // Retained rows are kept; a configured mask still strips what the basis
  // does not need.
  if (c.retain && a.kind != EraseAction::Kind::kMask && a.kind != EraseAction::Kind::kRedact) {
    a.kind = EraseAction::Kind::kKeep;
  }
  return a;
}

const char* ActionName(EraseAction::Kind k) {
  switch (k) {
    case EraseAction::Kind::kDelete: return "delete";
    case EraseAction::Kind::kMask: return "mask";
    case EraseAction::Kind::kKeep: return "keep";
    case EraseAction::Kind::kDrop: return "drop";
    case EraseAction::Kind::kRedact: return "redact";
  }
  return "?";
}

// Delete-like actions leave nothing behind; verification holds them to zero.
bool Removes(EraseAction::Kind k) { return k == EraseAction::Kind::kDelete || k == EraseAction::Kind::kDrop; }

json RetentionJson(const CollectionSpec& c) {
  if (!c.retain) return nullptr;
  json r = {{"basis", c.retain->basis}};
  if (!c.retain->note.empty()) r["note"] = c.retain->note;
  if (!c.retain->period.empty()) r["period"] = c.retain->period;
  if (!c.retain->from.empty()) r["from"] = c.retain->from;
  return r;
}

std::string SubjectRef(const std::string& key, const Subject& s) {
  if (!s.email.empty()) return Pseudonym(key, "email", s.email);
  if (!s.user_id.empty()) return Pseudonym(key, "user_id", s.user_id);
  if (!s.phone.empty()) return Pseudonym(key, "phone", s.phone);
  for (const auto& [kind, v] : s.custom) return Pseudonym(key, kind, v);
  return "";
}

// The persisted form of Work::until: Unix seconds or null.
nlohmann::json UntilJson(const std::optional<Time>& t) {
  return t ? nlohmann::json(ToUnix(*t)) : nlohmann::json(nullptr);
}
std::optional<Time> UntilFrom(const nlohmann::json& j) {
  if (j.is_number_integer()) return FromUnix(j.get<int64_t>());
  return std::nullopt;
}

Result<Outcome> GraphExecutor::Execute(const Request& r) {
  // One request at a time: connectors hold one connection each, and a plan
  // asked for over HTTP must not interleave with a running erasure.
  std::lock_guard<std::mutex> lock(mu_);
  LETHE_RETURN_IF_ERROR(g_->ConnectAll());
  IdentityUse identities;
  LETHE_ASSIGN_OR_RETURN(auto proved, WithProvedSubject(r, &identities));
  if (proved.subject.empty())
    return Status::Invalid("no identity of this request is verified: nothing may be looked up", "/verified_identities");
  Result<Outcome> out = Status::Internal("unknown request type");
  switch (r.type) {
    case RequestType::kAccess:
    case RequestType::kPortability: out = Export(proved); break;
    case RequestType::kErasure: out = Erase(proved); break;
    case RequestType::kRectification: out = Rectify(proved); break;
    case RequestType::kRestriction:
    case RequestType::kObjection: out = Restrict(proved); break;
  }
  if (out.ok()) out->identities = identities;
  return out;
}

Result<json> GraphExecutor::PurgeExpiredKept(Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  LETHE_RETURN_IF_ERROR(g_->ConnectAll());
  return exec::PurgeDueKept(store_, *g_, opt_.hash_key, now, opt_.batch);
}

Result<json> GraphExecutor::Plan(const Request& req) {
  std::lock_guard<std::mutex> lock(mu_);
  LETHE_RETURN_IF_ERROR(g_->ConnectAll());
  IdentityUse identities;
  LETHE_ASSIGN_OR_RETURN(auto proved, WithProvedSubject(req, &identities));
  const Request& r = proved;
  const auto& nodes = g_->nodes();
  std::vector<int64_t> counts(nodes.size(), 0), expired(nodes.size(), 0);
  const Time now = Now();
  auto found = Discover(
      *g_, r.subject,
      [&](size_t i, const Item& item) {
        ++counts[i];
        // The same verdict erasure will reach: rows past their period go.
        if (nodes[i].spec->retain && !item.key.empty() &&
            exec::JudgeRetention(*nodes[i].spec->retain, item.fields, now).kind ==
                exec::RetentionVerdict::Kind::kExpired) {
          ++expired[i];
        }
        return Status::Ok();
      },
      opt_.batch);
  if (!found.ok()) return found.status();
  // The plan says plainly which identities it was made from: an unverified
  // one finds nothing until it is verified.
  json out = {
      {"request_id", r.id},
      {"identities", {{"used", identities.used}, {"tied", identities.tied}, {"unverified", identities.unverified}}},
      {"collections", json::array()}};
  std::map<std::string, int64_t> totals = {{"delete", 0}, {"mask", 0}, {"keep", 0}};
  for (size_t i = 0; i < nodes.size(); ++i) {
    const CollectionSpec& c = *nodes[i].spec;
    EraseAction a = EffectiveErase(c);
    std::string action = ActionName(a.kind);
    json e = {{"connector", nodes[i].connector->name()},   {"collection", c.name}, {"action", action},
              {c.objects ? "objects" : "rows", counts[i]}, {"rows", counts[i]},    {"retention", RetentionJson(c)}};
    if (c.retain) e["expired"] = expired[i];  // of "rows": deleted, their retention having ended
    if (a.kind == EraseAction::Kind::kMask) {
      json cols = json::array();
      for (const auto& [col, how] : a.mask) cols.push_back({{"column", col}, {"mask", how}});
      e["mask"] = cols;
    }
    out["collections"].push_back(std::move(e));
    totals[Removes(a.kind) ? "delete" : (a.kind == EraseAction::Kind::kKeep ? "keep" : "mask")] +=
        counts[i] - expired[i];
    totals["delete"] += expired[i];
  }
  out["totals"] = totals;
  return out;
}

// Data is found only through proved identities (ProveIdentities): the rest
// of the executor sees the request with just those.
Result<Request> GraphExecutor::WithProvedSubject(const Request& r, IdentityUse* identities) {
  LETHE_ASSIGN_OR_RETURN(auto p, ProveIdentities(*g_, r.subject, r.verified_identities));
  Request out = r;
  out.subject = p.subject;
  *identities = {p.subject.Kinds(), p.tied, p.unproved};
  return out;
}

std::vector<std::string> GraphExecutor::RecipientNames() const {
  std::vector<std::string> names;
  if (opt_.recipients.is_array()) {
    for (const auto& rcp : opt_.recipients) {
      if (rcp.is_object() && rcp.contains("name") && rcp["name"].is_string()) names.push_back(rcp["name"]);
    }
  }
  return names;
}

}  // namespace lethe::exec

namespace lethe {

std::unique_ptr<Executor> MakeExecutor(std::unique_ptr<DataGraph> graph, Store& store, ExecutorOptions options) {
  return std::make_unique<exec::GraphExecutor>(std::move(graph), store, std::move(options));
}

Result<std::unique_ptr<Executor>> MakeExecutor(const Config& config, Store& store, std::string hash_key) {
  LETHE_ASSIGN_OR_RETURN(auto g, DataGraph::Build(config));
  ExecutorOptions opt;
  opt.exports_dir = config.Resolve(config.exports_dir);
  opt.recipients = config.recipients;
  opt.hash_key = std::move(hash_key);
  if (config.raw.contains("backups") && config.raw["backups"].contains("retention")) {
    const std::string text = config.raw["backups"]["retention"].get<std::string>();
    auto d = ParseIsoDuration(text);
    if (!d.ok()) return Status::Invalid(d.status().message(), "/backups/retention");
    opt.backups_retention = *d;
    opt.backups_retention_text = text;
  }
  if (!config.export_password_env.empty()) {
    // A configured password that is not set must stop exports, not quietly
    // produce unencrypted ones.
    LETHE_ASSIGN_OR_RETURN(auto pw, config.Secret(config.export_password_env, "/exports/password_env"));
    opt.export_password = pw;
  }
  return MakeExecutor(std::move(g), store, std::move(opt));
}

}  // namespace lethe
