// GraphExecutor: persisted steps (see graph_executor.h).
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "exec/graph_executor.h"
#include "exec/retention.h"

namespace lethe::exec {

using nlohmann::json;

Result<std::map<std::string, Task>> GraphExecutor::LoadTasks(const std::string& request_id, const std::string& action) {
  LETHE_ASSIGN_OR_RETURN(auto all, store_.Tasks(request_id));
  std::map<std::string, Task> out;
  for (auto& t : all) {
    if (t.action == action) out[t.connector + "." + t.collection] = std::move(t);
  }
  return out;
}

// Discovers the subject's items and makes (or reloads) one task per
// collection for which include(i) holds, persisting the keys BEFORE any
// change so a resumed run acts on the same items even when the rows that led
// to them are gone. Keys found now are merged in, so rows that appeared
// since are not missed either.
Result<std::vector<Work>> GraphExecutor::Prepare(const Request& r, const std::string& action,
                                                 const std::function<bool(size_t)>& include, FoundValues* found_out) {
  LETHE_ASSIGN_OR_RETURN(auto existing, LoadTasks(r.id, action));
  const auto& nodes = g_->nodes();
  std::vector<Work> work(nodes.size());
  const Time now = Now();
  // Discover reports each keyed item once, so keys need no set here.
  auto found = Discover(
      *g_, r.subject,
      [&](size_t i, const Item& item) -> Status {
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
      },
      opt_.batch, /*keys_only=*/true);
  if (!found.ok()) return found.status();
  for (size_t i = 0; i < nodes.size(); ++i) {
    Work& w = work[i];
    auto it = existing.find(nodes[i].id);
    if (it != existing.end()) {
      w.task = it->second;
      if (w.task.status == "done") continue;
      // Persisted keys keep their order (the batch cursor "next" counts in
      // it); keys discovered only now go after them. The first run's
      // retention verdicts stand: rows it judged expired may already be gone.
      std::vector<std::string> keys, expired;
      std::vector<std::optional<Time>> until;
      std::set<std::string> in;
      int64_t undated = w.undated;
      LETHE_ASSIGN_OR_RETURN(auto saved, store_.GetRecord(KeysKind(action), KeysRecordKey(w.task)));
      if (saved.has_value()) {
        const json& v = (*saved).value;
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

Status GraphExecutor::MarkRunning(Work& w) {
  w.task.status = "running";
  w.task.attempts += 1;
  w.task.error.clear();
  w.task.updated_at = Now();
  return store_.SaveTask(w.task);
}

// Done: the keys are dropped, leaving a receipt without payload.
Status GraphExecutor::MarkDone(Work& w, int64_t rows) {
  w.task.status = "done";
  w.task.rows = rows;
  w.task.detail.erase("next");
  w.task.updated_at = Now();
  LETHE_RETURN_IF_ERROR(store_.SaveTask(w.task));
  return store_.DeleteRecord(KeysKind(w.task.action), KeysRecordKey(w.task));
}

// Store records holding a task's resolved keys until it is done.
std::string GraphExecutor::KeysKind(const std::string& action) { return action + "_keys"; }

std::string GraphExecutor::KeysRecordKey(const Task& t) {
  return t.request_id + "/" + t.connector + "." + t.collection;
}

Status GraphExecutor::MarkFailed(Work& w, const Status& st) {
  w.task.status = "failed";
  w.task.error = st.ToString();
  w.task.updated_at = Now();
  Status saved = store_.SaveTask(w.task);
  if (!saved.ok()) spdlog::error("cannot record task failure: {}", saved.ToString());
  return st;
}

}  // namespace lethe::exec
