// The Executor: carries out a request over the data graph.
//
// Every step that changes something is a persisted Task, unique by (request,
// connector, collection, action). Before the first change, each task records
// the keys it will act on; a worker that dies mid-way is restarted on the same
// request and skips done tasks, redoing running ones (connector writes are
// idempotent), so each step happens exactly once in effect.
#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "exec/export_package.h"
#include "exec/retention.h"
#include "exec/util.h"
#include "lethe/audit.h"
#include "lethe/exec.h"

namespace lethe {
namespace {

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

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string SubjectRef(const std::string& key, const Subject& s) {
  if (!s.email.empty()) return Pseudonym(key, "email", s.email);
  if (!s.user_id.empty()) return Pseudonym(key, "user_id", s.user_id);
  if (!s.phone.empty()) return Pseudonym(key, "phone", s.phone);
  for (const auto& [kind, v] : s.custom) return Pseudonym(key, kind, v);
  return "";
}

json SubjectJson(const Subject& s) {
  json j = json::object();
  if (!s.email.empty()) j["email"] = s.email;
  if (!s.user_id.empty()) j["user_id"] = s.user_id;
  if (!s.phone.empty()) j["phone"] = s.phone;
  for (const auto& [k, v] : s.custom) j[k] = v;
  return j;
}

// Erasure batches grow while they are quick (see Erase), up to this many keys:
// large enough that commits stop dominating, small enough that the target's
// write lock is held briefly and a batch lost to a crash is cheap to redo.
constexpr size_t kMaxEraseBatch = 16384;
constexpr std::chrono::milliseconds kQuickBatch{100};

// One collection's share of a change-making request: its task and the keys
// it acts on.
struct Work {
  Task task;
  std::vector<std::string> keys;
  bool by_match = false;  // items have no keys (log lines): act by Match
  int64_t found = 0;      // items found by this run's discovery
  // Erasure of a retained collection: `keys` are the rows still within their
  // period (or undated), `until` when each one's period ends; `expired` are
  // the rows whose period has ended, which erasure deletes.
  std::vector<std::optional<Time>> until;
  std::vector<std::string> expired;
  int64_t undated = 0;
};

// The persisted form of Work::until: Unix seconds or null.
nlohmann::json UntilJson(const std::optional<Time>& t) { return t ? nlohmann::json(ToUnix(*t)) : nlohmann::json(nullptr); }
std::optional<Time> UntilFrom(const nlohmann::json& j) {
  if (j.is_number_integer()) return FromUnix(j.get<int64_t>());
  return std::nullopt;
}

class GraphExecutor : public Executor {
 public:
  GraphExecutor(std::unique_ptr<DataGraph> g, Store& store, ExecutorOptions opt)
      : g_(std::move(g)), store_(store), opt_(std::move(opt)) {}

  Result<json> Execute(const Request& r) override {
    // One request at a time: connectors hold one connection each, and a plan
    // asked for over HTTP must not interleave with a running erasure.
    std::lock_guard<std::mutex> lock(mu_);
    LETHE_RETURN_IF_ERROR(g_->ConnectAll());
    json identities;
    auto proved = WithProvedSubject(r, &identities);
    if (!proved.ok()) return proved.status();
    if (proved->subject.empty())
      return Status::Invalid("no identity of this request is verified: nothing may be looked up", "/verified_identities");
    Result<json> out = Status::Internal("unknown request type");
    switch (r.type) {
      case RequestType::kAccess:
      case RequestType::kPortability:
        out = Export(*proved);
        break;
      case RequestType::kErasure:
        out = Erase(*proved);
        break;
      case RequestType::kRectification:
        out = Rectify(*proved);
        break;
      case RequestType::kRestriction:
      case RequestType::kObjection:
        out = Restrict(*proved);
        break;
    }
    if (out.ok() && out->is_object()) (*out)["identities"] = identities;
    return out;
  }

  Result<json> PurgeExpiredKept(Time now) override {
    std::lock_guard<std::mutex> lock(mu_);
    LETHE_RETURN_IF_ERROR(g_->ConnectAll());
    return exec::PurgeDueKept(store_, *g_, opt_.hash_key, now, opt_.batch);
  }

  Result<json> Plan(const Request& req) override {
    std::lock_guard<std::mutex> lock(mu_);
    LETHE_RETURN_IF_ERROR(g_->ConnectAll());
    json identities;
    auto proved = WithProvedSubject(req, &identities);
    if (!proved.ok()) return proved.status();
    const Request& r = *proved;
    const auto& nodes = g_->nodes();
    std::vector<int64_t> counts(nodes.size(), 0), expired(nodes.size(), 0);
    const Time now = Now();
    auto found = Discover(*g_, r.subject, [&](size_t i, const Item& item) {
      ++counts[i];
      // The same verdict erasure will reach: rows past their period go.
      if (nodes[i].spec->retain && !item.key.empty() &&
          exec::JudgeRetention(*nodes[i].spec->retain, item.fields, now).kind == exec::RetentionVerdict::Kind::kExpired) {
        ++expired[i];
      }
      return Status::Ok();
    }, opt_.batch);
    if (!found.ok()) return found.status();
    // The plan says plainly which identities it was made from: an unverified
    // one finds nothing until it is verified.
    json out = {{"request_id", r.id}, {"identities", identities}, {"collections", json::array()}};
    std::map<std::string, int64_t> totals = {{"delete", 0}, {"mask", 0}, {"keep", 0}};
    for (size_t i = 0; i < nodes.size(); ++i) {
      const CollectionSpec& c = *nodes[i].spec;
      EraseAction a = EffectiveErase(c);
      std::string action = ActionName(a.kind);
      json e = {{"connector", nodes[i].connector->name()},
                {"collection", c.name},
                {"action", action},
                {c.objects ? "objects" : "rows", counts[i]},
                {"rows", counts[i]},
                {"retention", RetentionJson(c)}};
      if (c.retain) e["expired"] = expired[i];  // of "rows": deleted, their retention having ended
      if (a.kind == EraseAction::Kind::kMask) {
        json cols = json::array();
        for (const auto& [col, how] : a.mask) cols.push_back({{"column", col}, {"mask", how}});
        e["mask"] = cols;
      }
      out["collections"].push_back(std::move(e));
      totals[Removes(a.kind) ? "delete" : (a.kind == EraseAction::Kind::kKeep ? "keep" : "mask")] += counts[i] - expired[i];
      totals["delete"] += expired[i];
    }
    out["totals"] = totals;
    return out;
  }

 private:
  // Data is found only through proved identities (ProveIdentities): the rest
  // of the executor sees the request with just those.
  Result<Request> WithProvedSubject(const Request& r, json* identities) {
    auto p = ProveIdentities(*g_, r.subject, r.verified_identities);
    if (!p.ok()) return p.status();
    Request out = r;
    out.subject = p->subject;
    *identities = {{"used", p->subject.Kinds()}, {"tied", p->tied}, {"unverified", p->unproved}};
    return out;
  }

  // ---------------------------------------------------------------- tasks

  Result<std::map<std::string, Task>> LoadTasks(const std::string& request_id, const std::string& action) {
    auto all = store_.Tasks(request_id);
    if (!all.ok()) return all.status();
    std::map<std::string, Task> out;
    for (auto& t : *all) {
      if (t.action == action) out[t.connector + "." + t.collection] = std::move(t);
    }
    return out;
  }

  // Discovers the subject's items and makes (or reloads) one task per
  // collection for which include(i) holds, persisting the keys BEFORE any
  // change so a resumed run acts on the same items even when the rows that led
  // to them are gone. Keys found now are merged in, so rows that appeared
  // since are not missed either.
  Result<std::vector<Work>> Prepare(const Request& r, const std::string& action,
                                    const std::function<bool(size_t)>& include, FoundValues* found_out) {
    auto existing = LoadTasks(r.id, action);
    if (!existing.ok()) return existing.status();
    const auto& nodes = g_->nodes();
    std::vector<Work> work(nodes.size());
    const Time now = Now();
    // Discover reports each keyed item once, so keys need no set here.
    auto found = Discover(*g_, r.subject, [&](size_t i, const Item& item) -> Status {
      Work& w = work[i];
      ++w.found;
      if (!include(i)) return Status::Ok();
      if (item.key.empty()) {
        w.by_match = true;
      } else if (action == "erase" && nodes[i].spec->retain) {
        exec::RetentionVerdict v = exec::JudgeRetention(*nodes[i].spec->retain, item.fields, now);
        if (v.kind == exec::RetentionVerdict::Kind::kExpired) {
          w.expired.push_back(item.key);
        } else {
          w.keys.push_back(item.key);
          w.until.push_back(v.until);
          if (v.kind == exec::RetentionVerdict::Kind::kUndated) ++w.undated;
        }
      } else {
        w.keys.push_back(item.key);
        w.until.emplace_back();
      }
      return Status::Ok();
    }, opt_.batch, /*keys_only=*/true);
    if (!found.ok()) return found.status();
    for (size_t i = 0; i < nodes.size(); ++i) {
      Work& w = work[i];
      auto it = existing->find(nodes[i].id);
      if (it != existing->end()) {
        w.task = it->second;
        if (w.task.status == "done") continue;
        // Persisted keys keep their order (the batch cursor "next" counts in
        // it); keys discovered only now go after them. The first run's
        // retention verdicts stand: rows it judged expired may already be gone.
        std::vector<std::string> keys, expired;
        std::vector<std::optional<Time>> until;
        std::set<std::string> in;
        int64_t undated = w.undated;
        auto saved = store_.GetRecord(KeysKind(action), KeysRecordKey(w.task));
        if (!saved.ok()) return saved.status();
        if (saved->has_value()) {
          const json& v = (**saved).value;
          const json& saved_until = v.contains("until") && v["until"].is_array() ? v["until"] : json::array();
          if (v.contains("keys") && v["keys"].is_array()) {
            for (size_t k = 0; k < v["keys"].size(); ++k) {
              std::string key = v["keys"][k].get<std::string>();
              if (!in.insert(key).second) continue;
              keys.push_back(std::move(key));
              until.push_back(k < saved_until.size() ? UntilFrom(saved_until[k]) : std::nullopt);
            }
          }
          for (const auto& k : v.value("expired", json::array())) {
            if (in.insert(k.get<std::string>()).second) expired.push_back(k.get<std::string>());
          }
          undated = v.value("undated", undated);
        }
        for (size_t k = 0; k < w.keys.size(); ++k) {
          if (!in.insert(w.keys[k]).second) continue;
          keys.push_back(std::move(w.keys[k]));
          until.push_back(k < w.until.size() ? w.until[k] : std::nullopt);
        }
        for (auto& key : w.expired) {
          if (in.insert(key).second) expired.push_back(std::move(key));
        }
        w.keys = std::move(keys);
        w.until = std::move(until);
        w.expired = std::move(expired);
        w.undated = undated;
        w.by_match = w.by_match || w.task.detail.value("by_match", false);
      } else {
        if (!include(i)) continue;
        w.task.request_id = r.id;
        w.task.connector = nodes[i].connector->name();
        w.task.collection = nodes[i].spec->name;
        w.task.action = action;
        w.task.status = "pending";
      }
      // The keys go to a record of their own, written once: the task row is
      // rewritten after every batch and must stay small.
      Record keys;
      keys.kind = KeysKind(action);
      keys.key = KeysRecordKey(w.task);
      keys.value = {{"keys", w.keys}};
      if (action == "erase" && nodes[i].spec->retain) {
        json until = json::array();
        for (const auto& t : w.until) until.push_back(UntilJson(t));
        keys.value["until"] = std::move(until);
        keys.value["expired"] = w.expired;
        keys.value["undated"] = w.undated;
      }
      keys.created_at = Now();
      LETHE_RETURN_IF_ERROR(store_.PutRecord(keys));
      w.task.detail["key_count"] = w.keys.size();
      w.task.detail["by_match"] = w.by_match;
      w.task.updated_at = Now();
      LETHE_RETURN_IF_ERROR(store_.SaveTask(w.task));
    }
    *found_out = std::move(*found);
    return work;
  }

  Status MarkRunning(Work& w) {
    w.task.status = "running";
    w.task.attempts += 1;
    w.task.error.clear();
    w.task.updated_at = Now();
    return store_.SaveTask(w.task);
  }

  // Done: the keys are dropped, leaving a receipt without payload.
  Status MarkDone(Work& w, int64_t rows) {
    w.task.status = "done";
    w.task.rows = rows;
    w.task.detail.erase("next");
    w.task.updated_at = Now();
    LETHE_RETURN_IF_ERROR(store_.SaveTask(w.task));
    return store_.DeleteRecord(KeysKind(w.task.action), KeysRecordKey(w.task));
  }

  // Store records holding a task's resolved keys until it is done.
  static std::string KeysKind(const std::string& action) { return action + "_keys"; }
  static std::string KeysRecordKey(const Task& t) {
    return t.request_id + "/" + t.connector + "." + t.collection;
  }

  Status MarkFailed(Work& w, const Status& st) {
    w.task.status = "failed";
    w.task.error = st.ToString();
    w.task.updated_at = Now();
    Status saved = store_.SaveTask(w.task);
    if (!saved.ok()) spdlog::error("cannot record task failure: {}", saved.ToString());
    return st;
  }

  // ---------------------------------------------------------------- erasure

  // Rows of a retained collection whose period has already ended are not
  // kept: they are deleted, whatever "erase" says for the rows still within
  // it (contract section 2, "retain"). Once per task.
  Status EraseExpired(Work& w, const GraphNode& node, const std::string& hash_key) {
    if (w.task.detail.value("expired_done", false)) return Status::Ok();
    EraseAction del;
    del.kind = EraseAction::Kind::kDelete;
    del.hash_key = hash_key;
    int64_t deleted = 0;
    const size_t batch = std::max<size_t>(opt_.batch, 1);
    for (size_t start = 0; start < w.expired.size(); start += batch) {
      std::vector<std::string> part(w.expired.begin() + start,
                                    w.expired.begin() + std::min(w.expired.size(), start + batch));
      auto n = node.connector->Erase(*node.spec, {}, part, del);
      if (!n.ok()) return n.status();
      deleted += *n;
    }
    w.task.detail["expired"] = static_cast<int64_t>(w.expired.size());
    w.task.detail["expired_deleted"] = deleted;
    w.task.detail["expired_done"] = true;
    w.task.updated_at = Now();
    return store_.SaveTask(w.task);
  }

  // The rows a retained collection keeps go into the pseudonymous ledger
  // (exec/retention.h); the task keeps only their count, the latest end of
  // their period and how many had no date to count from.
  Status RecordKept(const Request& r, Work& w, size_t n) {
    const GraphNode& node = g_->nodes()[n];
    exec::KeptRows kept;
    kept.request_id = r.id;
    kept.connector = node.connector->name();
    kept.collection = node.spec->name;
    kept.retain = *node.spec->retain;
    kept.subject_refs = exec::SubjectRefs(opt_.hash_key, r.subject);
    kept.keys = w.keys;
    kept.until = w.until;
    kept.seal = exec::KeysCarryIdentity(*g_, n);
    if (!w.keys.empty()) LETHE_RETURN_IF_ERROR(exec::RecordKept(store_, opt_.hash_key, kept));
    std::optional<Time> latest;
    bool open_ended = false;
    for (size_t k = 0; k < w.keys.size(); ++k) {
      const auto& t = k < w.until.size() ? w.until[k] : std::nullopt;
      if (!t) open_ended = true;
      else if (!latest || *t > *latest) latest = t;
    }
    w.task.detail["kept_rows"] = static_cast<int64_t>(w.keys.size());
    w.task.detail["kept_until"] = latest && !open_ended ? json(FormatRfc3339(*latest).substr(0, 10)) : json(nullptr);
    w.task.detail["undated"] = w.undated;
    return Status::Ok();
  }

  Result<json> Erase(const Request& r) {
    const auto& nodes = g_->nodes();
    FoundValues found;
    auto prepared = Prepare(r, "erase", [](size_t) { return true; }, &found);
    if (!prepared.ok()) return prepared.status();
    std::vector<Work>& work = *prepared;

    // Reverse dependency order: a collection's rows go before the rows that
    // lead to them, so a resumed run can still reach whatever is left.
    for (size_t n = nodes.size(); n-- > 0;) {
      Work& w = work[n];
      if (w.task.status == "done") continue;
      const GraphNode& node = nodes[n];
      EraseAction a = EffectiveErase(*node.spec);
      a.hash_key = opt_.hash_key;
      w.task.detail["action"] = ActionName(a.kind);
      if (node.spec->retain) w.task.detail["retention"] = RetentionJson(*node.spec);
      LETHE_RETURN_IF_ERROR(MarkRunning(w));
      if (node.spec->retain) {
        Status st = EraseExpired(w, node, a.hash_key);
        if (!st.ok()) return MarkFailed(w, st);
      }

      int64_t rows = w.task.rows;  // rows done by earlier batches (resumed runs)
      size_t next = w.task.detail.value("next", size_t{0});
      if (a.kind == EraseAction::Kind::kKeep) {
        rows = 0;
      } else if (w.by_match || a.kind == EraseAction::Kind::kDrop || a.kind == EraseAction::Kind::kRedact) {
        // Log lines have no stable keys (dropping one renumbers the rest):
        // these actions re-match the subject's values instead. Ancestors are
        // erased after this collection, so a resumed run still has them.
        rows = 0;
        for (const Match& m : MatchesFor(*g_, n, r.subject, found, opt_.batch)) {
          auto changed = node.connector->Erase(*node.spec, m, {}, a);
          if (!changed.ok()) return MarkFailed(w, changed.status());
          rows += *changed;
        }
      } else {
        if (next > w.keys.size()) next = 0;
        if (next == 0) rows = 0;
        // Each batch is one transaction in the target plus one checkpoint in
        // the store, and on SQLite a commit costs far more than the rows it
        // deletes (~20 ms against ~4 us a row). So batches start at
        // opt_.batch and double while each one finishes quickly, up to
        // kMaxEraseBatch: a large erasure takes a handful of commits, while a
        // slow target (an object store deleting key by key) keeps small
        // batches and fine-grained checkpoints. A crash still loses at most
        // the one unrecorded batch, which the resumed run redoes from the
        // saved cursor (writes are idempotent).
        size_t size = std::max<size_t>(opt_.batch, 1);
        for (size_t start = next, end = 0; start < w.keys.size(); start = end) {
          end = std::min(w.keys.size(), start + size);
          auto began = std::chrono::steady_clock::now();
          std::vector<std::string> batch(w.keys.begin() + start, w.keys.begin() + end);
          auto changed = node.connector->Erase(*node.spec, {}, batch, a);
          if (!changed.ok()) return MarkFailed(w, changed.status());
          rows += *changed;
          // Progress after each batch, so a resumed run neither repeats nor
          // miscounts the batches already committed.
          w.task.rows = rows;
          w.task.detail["next"] = end;
          w.task.updated_at = Now();
          LETHE_RETURN_IF_ERROR(store_.SaveTask(w.task));
          if (std::chrono::steady_clock::now() - began < kQuickBatch && size < kMaxEraseBatch) size *= 2;
        }
      }
      w.task.detail["kept"] = a.kind == EraseAction::Kind::kKeep ? static_cast<int64_t>(w.keys.size()) : 0;
      if (node.spec->retain) {
        // Ledger first, then done: a crash in between writes the same
        // records again on resume.
        Status st = RecordKept(r, w, n);
        if (!st.ok()) return MarkFailed(w, st);
      }
      LETHE_RETURN_IF_ERROR(MarkDone(w, rows));
      spdlog::info("erasure step request={} collection={} action={} rows={}", r.id, node.id, ActionName(a.kind), rows);
    }

    // Verify: ask every collection again, with the values discovery started
    // from, what still matches the subject.
    json out = {{"collections", json::array()}, {"retained", json::array()}, {"kept_items", json::array()}};
    int64_t deleted = 0, masked = 0, kept = 0;
    std::vector<std::string> leftovers;
    json remaining_by_id = json::object();
    for (size_t i = 0; i < nodes.size(); ++i) {
      const GraphNode& node = nodes[i];
      EraseAction a = EffectiveErase(*node.spec);
      int64_t remaining = 0;
      for (const Match& m : MatchesFor(*g_, i, r.subject, found, opt_.batch)) {
        // A count: no fields needed.
        Status st = node.connector->FindColumns(*node.spec, m, {}, [&](const Item&) {
          ++remaining;
          return Status::Ok();
        });
        if (!st.ok()) return st;
      }
      const Task& t = work[i].task;
      json e = {{"connector", node.connector->name()},
                {"collection", node.spec->name},
                {"action", ActionName(a.kind)},
                {"rows", t.rows},
                {"remaining", remaining}};
      int64_t expired_deleted = t.detail.value("expired_deleted", int64_t{0});
      if (node.spec->retain) {
        e["retention"] = RetentionJson(*node.spec);
        e["expired_deleted"] = expired_deleted;
        json ret = RetentionJson(*node.spec);
        ret["connector"] = node.connector->name();
        ret["collection"] = node.spec->name;
        ret["rows"] = remaining;
        ret["action"] = ActionName(a.kind);
        // What the receipt tells the subject: how many rows are kept, until
        // when (the latest end; null when some have no end), how many had
        // outlived their period and were deleted, and how many had no date
        // to count from (kept, to be safe).
        ret["kept"] = t.detail.value("kept_rows", int64_t{0});
        ret["until"] = t.detail.contains("kept_until") ? t.detail["kept_until"] : json(nullptr);
        ret["expired_deleted"] = expired_deleted;
        ret["undated"] = t.detail.value("undated", int64_t{0});
        if (ret["kept"].get<int64_t>() > 0) {
          json k = {{"connector", ret["connector"]}, {"collection", ret["collection"]}, {"records", ret["kept"]},
                    {"basis", node.spec->retain->basis}, {"note", node.spec->retain->note}, {"until", ret["until"]}};
          out["kept_items"].push_back(std::move(k));
        }
        out["retained"].push_back(std::move(ret));
      }
      deleted += expired_deleted;
      out["collections"].push_back(std::move(e));
      remaining_by_id[node.id] = remaining;
      if (Removes(a.kind)) {
        deleted += t.rows;
        if (remaining > 0) leftovers.push_back(node.id + " (" + std::to_string(remaining) + ")");
      } else if (a.kind == EraseAction::Kind::kKeep) {
        kept += remaining;
      } else {
        masked += t.rows;
      }
    }
    out["recipients_to_notify"] = RecipientNames();
    // The audit receipt (Workflow::Finish) copies "counts", "retained" and
    // "remaining": counts and bases, never values.
    out["counts"] = {{"deleted", deleted}, {"masked", masked}, {"kept", kept}};
    out["remaining"] = remaining_by_id;
    out["deleted"] = deleted;
    out["masked"] = masked;
    out["kept"] = kept;
    out["verified"] = leftovers.empty();
    if (opt_.backups_retention) {
      // Backups are not erased row by row; they age out. Counted from now,
      // which is the erasure's completion to within the Finish that follows.
      out["backups"] = {{"retention", opt_.backups_retention_text},
                        {"gone_by", FormatRfc3339(AddCalendar(Now(), *opt_.backups_retention)).substr(0, 10)}};
    }
    if (!leftovers.empty()) {
      std::string list;
      for (const auto& l : leftovers) list += (list.empty() ? "" : ", ") + l;
      return Status::Io("erasure incomplete: items still found in " + list);
    }
    return out;
  }

  // ---------------------------------------------------------------- rectification

  // params: {"field": "new value", ...}, or {"fields": {...}, "collection":
  // "connector.collection"} to correct one collection only. A field may be
  // corrected only where it is listed in that collection's "rectify".
  Result<json> Rectify(const Request& r) {
    const auto& nodes = g_->nodes();
    json fields = r.params;
    std::string only;
    std::string base = "/params";
    if (r.params.contains("fields")) {
      fields = r.params["fields"];
      base = "/params/fields";
      if (r.params.contains("collection")) {
        if (!r.params["collection"].is_string()) return Status::Invalid("must be \"connector.collection\"", "/params/collection");
        only = r.params["collection"].get<std::string>();
      }
    }
    if (!fields.is_object() || fields.empty()) return Status::Invalid("rectification needs the fields to correct", base);
    std::vector<json> set(nodes.size(), json::object());
    bool known_collection = only.empty();
    for (const auto& [field, value] : fields.items()) {
      if (value.is_object() || value.is_array()) return Status::Invalid("must be a single value", base + "/" + exec::PointerToken(field));
      bool allowed = false;
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (!only.empty() && nodes[i].id != only) continue;
        known_collection = true;
        const auto& rect = nodes[i].spec->rectify;
        if (std::find(rect.begin(), rect.end(), field) != rect.end()) {
          set[i][field] = value;
          allowed = true;
        }
      }
      if (!known_collection) return Status::Invalid("unknown collection \"" + only + "\"", "/params/collection");
      if (!allowed) {
        return Status::Invalid("field \"" + field + "\" may not be rectified (not listed in any collection's rectify)",
                               base + "/" + exec::PointerToken(field));
      }
    }
    FoundValues found;
    auto prepared = Prepare(r, "rectify", [&](size_t i) { return !set[i].empty(); }, &found);
    if (!prepared.ok()) return prepared.status();
    json out = {{"collections", json::array()}};
    std::set<std::string> changed_fields;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (set[i].empty()) continue;
      Work& w = (*prepared)[i];
      if (w.task.status != "done") {
        w.task.detail["fields"] = json::array();
        for (const auto& [f, v] : set[i].items()) w.task.detail["fields"].push_back(f);
        LETHE_RETURN_IF_ERROR(MarkRunning(w));
        int64_t rows = 0;
        for (size_t start = 0; start < w.keys.size(); start += opt_.batch) {
          size_t end = std::min(w.keys.size(), start + opt_.batch);
          auto n = nodes[i].connector->Update(*nodes[i].spec, {w.keys.begin() + start, w.keys.begin() + end}, set[i]);
          if (!n.ok()) return MarkFailed(w, n.status());
          rows += *n;
        }
        LETHE_RETURN_IF_ERROR(MarkDone(w, rows));
      }
      json names = json::array();
      for (const auto& [f, v] : set[i].items()) {
        names.push_back(f);
        if (w.task.rows > 0) changed_fields.insert(f);
      }
      out["collections"].push_back({{"connector", nodes[i].connector->name()},
                                    {"collection", nodes[i].spec->name},
                                    {"fields", names},
                                    {"rows", w.task.rows}});
    }
    out["fields"] = changed_fields;
    out["fields_changed"] = changed_fields;  // what the audit receipt copies
    out["recipients_to_notify"] = RecipientNames();
    return out;
  }

  // ---------------------------------------------------------------- restriction, objection

  Result<json> Restrict(const Request& r) {
    const auto& nodes = g_->nodes();
    FoundValues found;
    auto include = [&](size_t i) { return nodes[i].spec->restrict_set.is_object(); };
    auto prepared = Prepare(r, "restrict", include, &found);
    if (!prepared.ok()) return prepared.status();
    json out = {{"collections", json::array()}};
    json ids = json::array();
    json counts = json::object();
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!include(i)) continue;
      Work& w = (*prepared)[i];
      if (w.task.status != "done") {
        LETHE_RETURN_IF_ERROR(MarkRunning(w));
        int64_t rows = 0;
        for (size_t start = 0; start < w.keys.size(); start += opt_.batch) {
          size_t end = std::min(w.keys.size(), start + opt_.batch);
          auto n = nodes[i].connector->Update(*nodes[i].spec, {w.keys.begin() + start, w.keys.begin() + end},
                                              nodes[i].spec->restrict_set);
          if (!n.ok()) return MarkFailed(w, n.status());
          rows += *n;
        }
        LETHE_RETURN_IF_ERROR(MarkDone(w, rows));
      }
      json cols = json::array();
      for (const auto& [c, v] : nodes[i].spec->restrict_set.items()) cols.push_back(c);
      out["collections"].push_back({{"connector", nodes[i].connector->name()},
                                    {"collection", nodes[i].spec->name},
                                    {"columns", cols},
                                    {"rows", w.task.rows}});
      ids.push_back(nodes[i].id);
      counts[nodes[i].id] = w.task.rows;
    }
    out["counts"] = counts;
    // The registry the host application consults before processing: keyed by
    // the subject's pseudonym, never by the clear identity.
    std::string ref = SubjectRef(opt_.hash_key, r.subject);
    if (ref.empty()) return Status::Invalid("the subject has no identity", "/subject");
    Record rec;
    rec.kind = "restriction";
    rec.key = ref;
    rec.value = {{"request_id", r.id}, {"type", ToString(r.type)}, {"at", FormatRfc3339(Now())}, {"collections", ids}};
    rec.created_at = Now();
    LETHE_RETURN_IF_ERROR(store_.PutRecord(rec));
    json records = json::array({"restriction"});
    if (r.type == RequestType::kObjection) {
      rec.kind = "objection";
      LETHE_RETURN_IF_ERROR(store_.PutRecord(rec));
      records.push_back("objection");
    }
    out["records"] = records;
    out["subject_ref"] = ref;
    out["recipients_to_notify"] = RecipientNames();
    return out;
  }

  json RecipientNames() const {
    json names = json::array();
    if (opt_.recipients.is_array()) {
      for (const auto& rcp : opt_.recipients) {
        if (rcp.is_object() && rcp.contains("name")) names.push_back(rcp["name"]);
      }
    }
    return names;
  }

  // ---------------------------------------------------------------- access, portability

  Result<json> Export(const Request& r) {
    const bool portability = r.type == RequestType::kPortability;
    const auto& nodes = g_->nodes();
    auto include = [&](size_t i) { return !portability || nodes[i].spec->portable; };
    if (opt_.exports_dir.empty()) return Status::Invalid("no exports directory configured", "/exports/dir");
    auto pkg_r = exec::ExportPackage::Create(opt_.exports_dir, r.id);
    if (!pkg_r.ok()) return pkg_r.status();
    exec::ExportPackage& pkg = **pkg_r;

    std::vector<int64_t> records(nodes.size(), 0);
    std::vector<std::string> data_path(nodes.size());
    std::vector<std::vector<Item>> objects(nodes.size());  // metadata only; content is streamed later
    long open_node = -1;
    auto close_open = [&]() -> Status {
      if (open_node < 0) return Status::Ok();
      open_node = -1;
      LETHE_RETURN_IF_ERROR(pkg.Write("\n]\n"));
      return pkg.End();
    };
    auto found = Discover(*g_, r.subject, [&](size_t i, const Item& item) -> Status {
      if (!include(i)) return Status::Ok();
      const GraphNode& node = nodes[i];
      if (open_node != static_cast<long>(i)) {
        LETHE_RETURN_IF_ERROR(close_open());
        data_path[i] = pkg.SafePath("data/" + node.connector->name(), node.spec->name + ".json");
        LETHE_RETURN_IF_ERROR(pkg.Begin(data_path[i]));
        LETHE_RETURN_IF_ERROR(pkg.Write("["));
        open_node = static_cast<long>(i);
      }
      json rec = item.fields.is_object() ? item.fields : json{{"value", item.fields}};
      for (const auto& col : node.spec->omit) rec.erase(col);
      if (node.spec->objects && !item.key.empty()) {
        std::string fp = pkg.SafePath("files/" + node.connector->name(), item.key);
        rec["file"] = fp;
        Item meta = item;
        meta.fields = {{"file", fp}};
        objects[i].push_back(std::move(meta));
      }
      std::string line = (records[i] == 0 ? "\n" : ",\n") + rec.dump(-1, ' ', false, json::error_handler_t::replace);
      ++records[i];
      return pkg.Write(line);
    }, opt_.batch);
    if (!found.ok()) return found.status();
    LETHE_RETURN_IF_ERROR(close_open());

    int64_t object_count = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (const Item& obj : objects[i]) {
        std::string fp = obj.fields["file"].get<std::string>();
        LETHE_RETURN_IF_ERROR(pkg.Begin(fp));
        Status st = nodes[i].connector->ReadObject(*nodes[i].spec, obj, [&](std::string_view chunk) {
          return pkg.Write(chunk);
        });
        LETHE_RETURN_IF_ERROR(st);
        LETHE_RETURN_IF_ERROR(pkg.End());
        ++object_count;
      }
    }

    json sources = json::array();
    int64_t total = 0;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!include(i)) continue;
      const CollectionSpec& c = *nodes[i].spec;
      json s = {{"connector", nodes[i].connector->name()},
                {"collection", c.name},
                {"records", records[i]},
                {"categories", c.categories},
                {"purpose", c.purpose},
                {"retention", RetentionJson(c)},
                {"portable", c.portable}};
      if (!data_path[i].empty()) s["file"] = data_path[i];
      sources.push_back(std::move(s));
      total += records[i];
    }
    // What an earlier erasure kept of this subject under retention: found in
    // the ledger by the keyed pseudonyms of the request's identities.
    auto kept = exec::KeptFor(store_, exec::SubjectRefs(opt_.hash_key, r.subject));
    if (!kept.ok()) return kept.status();
    const std::string generated_at = FormatRfc3339(Now());
    LETHE_RETURN_IF_ERROR(pkg.Add("report.html", Report(r, sources, *kept, generated_at)));
    json manifest = {{"request", {{"id", r.id},
                                  {"type", ToString(r.type)},
                                  {"regulation", ToString(r.regulation)},
                                  {"received_at", FormatRfc3339(r.received_at)}}},
                     {"subject", SubjectJson(r.subject)},
                     {"generated_at", generated_at},
                     {"format", "lethe-export/1"},
                     {"sources", sources},
                     {"kept", *kept},
                     {"recipients", opt_.recipients},
                     {"files", pkg.files()}};
    LETHE_RETURN_IF_ERROR(pkg.Add("manifest.json", manifest.dump(2)));
    auto published = pkg.Publish(opt_.export_password);
    if (!published.ok()) return published.status();

    for (size_t i = 0; i < nodes.size(); ++i) {
      if (!include(i)) continue;
      Task t;
      t.request_id = r.id;
      t.connector = nodes[i].connector->name();
      t.collection = nodes[i].spec->name;
      t.action = "export";
      t.status = "done";
      t.rows = records[i];
      t.attempts = 1;
      t.updated_at = Now();
      LETHE_RETURN_IF_ERROR(store_.SaveTask(t));
    }
    spdlog::info("export published request={} records={} objects={}", r.id, total, object_count);
    return json{{"export_path", *published},
                {"records", total},
                {"objects", object_count},
                {"files", pkg.files().size() + 1},  // with manifest.json
                {"sources", sources.size()},
                {"encrypted", !opt_.export_password.empty()}};
  }

  // The readable Art. 15 report: what we hold, why, for how long, who gets
  // it, where it came from, and what the subject can do about it.
  std::string Report(const Request& r, const json& sources, const json& kept, const std::string& generated_at) const {
    std::set<std::string> purposes, categories;
    for (const auto& s : sources) {
      if (!s["purpose"].get<std::string>().empty()) purposes.insert(s["purpose"].get<std::string>());
      for (const auto& c : s["categories"]) categories.insert(c.get<std::string>());
    }
    std::string h;
    h += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Your personal data</title>\n";
    h += "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.5}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style>"
         "</head><body>\n";
    h += "<h1>" + std::string(r.type == RequestType::kPortability ? "Your data, ready to take elsewhere"
                                                                   : "The personal data we hold about you") + "</h1>\n";
    h += "<p>Request <code>" + HtmlEscape(r.id) + "</code>, received " + HtmlEscape(FormatRfc3339(r.received_at)) +
         ", answered " + HtmlEscape(generated_at) + ". The files in <code>data/</code> hold the records themselves "
         "(JSON); <code>manifest.json</code> lists every file with its SHA-256.</p>\n";
    h += "<h2>Why we process it (purposes)</h2><ul>";
    if (purposes.empty()) h += "<li>No purposes recorded.</li>";
    for (const auto& p : purposes) h += "<li>" + HtmlEscape(p) + "</li>";
    h += "</ul>\n<h2>Categories of data</h2><ul>";
    if (categories.empty()) h += "<li>No categories recorded.</li>";
    for (const auto& c : categories) h += "<li>" + HtmlEscape(c) + "</li>";
    h += "</ul>\n<h2>Recipients</h2><ul>";
    if (RecipientNames().empty()) h += "<li>We do not disclose your data to other recipients.</li>";
    for (const auto& n : RecipientNames()) h += "<li>" + HtmlEscape(n.is_string() ? n.get<std::string>() : n.dump()) + "</li>";
    h += "</ul>\n<h2>Where the data is and how long we keep it</h2>\n"
         "<table><tr><th>Source</th><th>Records</th><th>Categories</th><th>Purpose</th><th>Retention</th></tr>\n";
    for (const auto& s : sources) {
      std::string cats;
      for (const auto& c : s["categories"]) cats += (cats.empty() ? "" : ", ") + c.get<std::string>();
      std::string ret = "Until you ask us to erase it or the purpose ends";
      if (s["retention"].is_object()) {
        ret = "Kept for " + s["retention"].value("period", std::string("the required period")) + " (" +
              s["retention"]["basis"].get<std::string>() + ")";
        if (s["retention"].contains("note")) ret += ": " + s["retention"]["note"].get<std::string>();
      }
      h += "<tr><td>" + HtmlEscape(s["connector"].get<std::string>() + " / " + s["collection"].get<std::string>()) +
           "</td><td>" + std::to_string(s["records"].get<int64_t>()) + "</td><td>" + HtmlEscape(cats) + "</td><td>" +
           HtmlEscape(s["purpose"].get<std::string>()) + "</td><td>" + HtmlEscape(ret) + "</td></tr>\n";
    }
    h += "</table>\n";
    if (!kept.empty()) {
      h += "<h2>Kept after an earlier erasure</h2>\n<p>You asked us before to erase your data. The law "
           "requires us to keep the following for a while; we delete it when that period ends.</p><ul>\n";
      for (const auto& k : kept) h += "<li>" + HtmlEscape(KeptSentence(k)) + "</li>\n";
      h += "</ul>\n";
    }
    h += "<h2>Where the data came from</h2><p>From you, and from your use of our service. "
         "We do not make decisions about you based solely on automated processing, including profiling.</p>\n";
    h += "<h2>Your rights</h2><ul>"
         "<li>Rectification: ask us to correct inaccurate data or complete it (Art. 16 GDPR).</li>"
         "<li>Erasure: ask us to delete your data (Art. 17), except where the law requires us to keep it.</li>"
         "<li>Restriction: ask us to limit processing to storage (Art. 18).</li>"
         "<li>Objection: object to processing based on legitimate interests or for direct marketing (Art. 21).</li>"
         "<li>Portability: receive the data you provided in a machine-readable format (Art. 20).</li>"
         "<li>Withdraw consent at any time, without affecting processing before the withdrawal.</li>"
         "<li>Complain to a data protection supervisory authority, in particular in the country where you live or "
         "work or where an infringement happened (Art. 77).</li></ul>\n</body></html>\n";
    return h;
  }

  // "3 invoices, kept until 2033-03-31, EU tax law".
  static std::string KeptSentence(const json& k) {
    int64_t n = k.value("records", int64_t{0});
    std::string what = k.value("collection", "");
    if (n == 1 && what.size() > 1 && what.back() == 's') what.pop_back();
    std::string s = std::to_string(n) + " " + what + ", kept until ";
    s += k["until"].is_string() ? k["until"].get<std::string>() : std::string("the end of the legal period");
    std::string why = k.value("note", "");
    if (why.empty()) why = k.value("basis", "");
    if (!why.empty()) s += ", " + why;
    return s;
  }

  std::mutex mu_;
  std::unique_ptr<DataGraph> g_;
  Store& store_;
  ExecutorOptions opt_;
};

}  // namespace

std::unique_ptr<Executor> MakeExecutor(std::unique_ptr<DataGraph> graph, Store& store, ExecutorOptions options) {
  return std::make_unique<GraphExecutor>(std::move(graph), store, std::move(options));
}

Result<std::unique_ptr<Executor>> MakeExecutor(const Config& config, Store& store, std::string hash_key) {
  auto g = DataGraph::Build(config);
  if (!g.ok()) return g.status();
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
    auto pw = config.Secret(config.export_password_env, "/exports/password_env");
    if (!pw.ok()) return pw.status();
    opt.export_password = *pw;
  }
  return MakeExecutor(std::move(*g), store, std::move(opt));
}

}  // namespace lethe
