// GraphExecutor: erasure (see graph_executor.h).
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "exec/graph_executor.h"
#include "exec/retention.h"

namespace lethe::exec {

using nlohmann::json;

namespace {

// Erasure batches grow while they are quick (see Erase), up to this many keys:
// large enough that commits stop dominating, small enough that the target's
// write lock is held briefly and a batch lost to a crash is cheap to redo.
constexpr size_t kMaxEraseBatch = 16384;
constexpr std::chrono::milliseconds kQuickBatch{100};

}  // namespace

// Rows of a retained collection whose period has already ended are not
// kept: they are deleted, whatever "erase" says for the rows still within
// it (contract section 2, "retain"). Once per task.
Status GraphExecutor::EraseExpired(Work& w, const GraphNode& node, const std::string& hash_key) {
  if (w.task.detail.value("expired_done", false)) return Status::Ok();
  EraseAction del;
  del.kind = EraseAction::Kind::kDelete;
  del.hash_key = hash_key;
  int64_t deleted = 0;
  const size_t batch = std::max<size_t>(opt_.batch, 1);
  for (size_t start = 0; start < w.expired.size(); start += batch) {
    std::vector<std::string> part(w.expired.begin() + start,
                                  w.expired.begin() + std::min(w.expired.size(), start + batch));
    LETHE_ASSIGN_OR_RETURN(auto n, node.connector->Erase(*node.spec, {}, part, del));
    deleted += n;
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
Status GraphExecutor::RecordKept(const Request& r, Work& w, size_t n) {
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
    if (!t)
      open_ended = true;
    else if (!latest || *t > *latest)
      latest = t;
  }
  w.task.detail["kept_rows"] = static_cast<int64_t>(w.keys.size());
  w.task.detail["kept_until"] = latest && !open_ended ? json(FormatRfc3339(*latest).substr(0, 10)) : json(nullptr);
  w.task.detail["undated"] = w.undated;
  return Status::Ok();
}

// Erasure runs in two numbered steps (graph_executor.h): 1. each collection,
// children before the rows that lead to them; 2. verification and receipt.
Result<Outcome> GraphExecutor::Erase(const Request& r) {
  const auto& nodes = g_->nodes();
  FoundValues found;
  LETHE_ASSIGN_OR_RETURN(auto work, Prepare(
                                        r, "erase", [](size_t) { return true; }, &found));

  // 1. Reverse dependency order: a collection's rows go before the rows that
  // lead to them, so a resumed run can still reach whatever is left.
  for (size_t n = nodes.size(); n-- > 0;) {
    if (work[n].task.status == "done") continue;
    LETHE_RETURN_IF_ERROR(EraseCollection(r, n, work[n], found));
  }
  // 2.
  return VerifyErasure(r, work, found);
}

// 1. One collection: expired rows (1a), the rest by match or in batches (1b),
// the ledger of what is kept (1c), then done.
Status GraphExecutor::EraseCollection(const Request& r, size_t n, Work& w, const FoundValues& found) {
  const GraphNode& node = g_->nodes()[n];
  EraseAction a = EffectiveErase(*node.spec);
  a.hash_key = opt_.hash_key;
  w.task.detail["action"] = ActionName(a.kind);
  if (node.spec->retain) w.task.detail["retention"] = RetentionJson(*node.spec);
  LETHE_RETURN_IF_ERROR(MarkRunning(w));
  if (node.spec->retain) {
    Status st = EraseExpired(w, node, a.hash_key);
    if (!st.ok()) return MarkFailed(w, st);
  }

  int64_t rows = 0;
  if (a.kind == EraseAction::Kind::kKeep) {
    rows = 0;
  } else if (w.by_match || a.kind == EraseAction::Kind::kDrop || a.kind == EraseAction::Kind::kRedact) {
    // Log lines have no stable keys (dropping one renumbers the rest):
    // these actions re-match the subject's values instead. Ancestors are
    // erased after this collection, so a resumed run still has them.
    for (const Match& m : MatchesFor(*g_, n, r.subject, found, opt_.batch)) {
      auto changed = node.connector->Erase(*node.spec, m, {}, a);
      if (!changed.ok()) return MarkFailed(w, changed.status());
      rows += *changed;
    }
  } else {
    Status st = EraseInBatches(w, node, a, &rows);
    if (!st.ok()) return MarkFailed(w, st);
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
  return Status::Ok();
}

// 1b. Each batch is one transaction in the target plus one checkpoint in the
// store, and on SQLite a commit costs far more than the rows it deletes (~20
// ms against ~4 us a row). So batches start at opt_.batch and double while
// each one finishes quickly, up to kMaxEraseBatch: a large erasure takes a
// handful of commits, while a slow target (an object store deleting key by
// key) keeps small batches and fine-grained checkpoints. A crash still loses
// at most the one unrecorded batch, which the resumed run redoes from the
// saved cursor (writes are idempotent).
Status GraphExecutor::EraseInBatches(Work& w, const GraphNode& node, const EraseAction& a, int64_t* rows) {
  size_t next = w.task.detail.value("next", size_t{0});
  if (next > w.keys.size()) next = 0;
  *rows = next == 0 ? 0 : w.task.rows;  // rows done by earlier batches (resumed runs)
  size_t size = std::max<size_t>(opt_.batch, 1);
  for (size_t start = next, end = 0; start < w.keys.size(); start = end) {
    end = std::min(w.keys.size(), start + size);
    auto began = std::chrono::steady_clock::now();
    std::vector<std::string> batch(w.keys.begin() + start, w.keys.begin() + end);
    LETHE_ASSIGN_OR_RETURN(int64_t changed, node.connector->Erase(*node.spec, {}, batch, a));
    *rows += changed;
    // Progress after each batch, so a resumed run neither repeats nor
    // miscounts the batches already committed.
    w.task.rows = *rows;
    w.task.detail["next"] = end;
    w.task.updated_at = Now();
    LETHE_RETURN_IF_ERROR(store_.SaveTask(w.task));
    if (std::chrono::steady_clock::now() - began < kQuickBatch && size < kMaxEraseBatch) size *= 2;
  }
  return Status::Ok();
}

// 2. Verify: ask every collection again, with the values discovery started
// from, what still matches the subject; then the receipt.
Result<Outcome> GraphExecutor::VerifyErasure(const Request& r, const std::vector<Work>& work,
                                             const FoundValues& found) {
  const auto& nodes = g_->nodes();
  Outcome out;
  out.type = r.type;
  std::vector<std::string> leftovers;
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
    CollectionOutcome line;
    line.connector = node.connector->name();
    line.collection = node.spec->name;
    line.action = ActionName(a.kind);
    line.rows = t.rows;
    line.remaining = remaining;
    const int64_t expired_deleted = t.detail.value("expired_deleted", int64_t{0});
    if (node.spec->retain) {
      line.retention = RetentionJson(*node.spec);
      line.expired_deleted = expired_deleted;
      // What the receipt tells the subject: how many rows are kept, until
      // when (the latest end; none when some have no end), how many had
      // outlived their period and were deleted, and how many had no date
      // to count from (kept, to be safe).
      RetainedOutcome ret;
      ret.connector = line.connector;
      ret.collection = line.collection;
      ret.action = line.action;
      ret.retention = line.retention;
      ret.rows = remaining;
      ret.kept = t.detail.value("kept_rows", int64_t{0});
      if (t.detail.contains("kept_until") && t.detail["kept_until"].is_string()) ret.until = t.detail["kept_until"];
      ret.expired_deleted = expired_deleted;
      ret.undated = t.detail.value("undated", int64_t{0});
      if (ret.kept > 0) {
        out.kept_items.push_back(
            {ret.connector, ret.collection, ret.kept, node.spec->retain->basis, node.spec->retain->note, ret.until});
      }
      out.retained.push_back(std::move(ret));
    }
    out.deleted += expired_deleted;
    if (Removes(a.kind)) {
      out.deleted += t.rows;
      if (remaining > 0) leftovers.push_back(node.id + " (" + std::to_string(remaining) + ")");
    } else if (a.kind == EraseAction::Kind::kKeep) {
      out.kept += remaining;
    } else {
      out.masked += t.rows;
    }
    out.collections.push_back(std::move(line));
  }
  out.recipients_to_notify = RecipientNames();
  out.verified = leftovers.empty();
  if (opt_.backups_retention) {
    // Backups are not erased row by row; they age out. Counted from now,
    // which is the erasure's completion to within the Finish that follows.
    out.backups_retention = opt_.backups_retention_text;
    out.backups_gone_by = FormatRfc3339(AddCalendar(Now(), *opt_.backups_retention)).substr(0, 10);
  }
  if (!leftovers.empty()) {
    std::string list;
    for (const auto& l : leftovers) list += (list.empty() ? "" : ", ") + l;
    return Status::Io("erasure incomplete: items still found in " + list);
  }
  return out;
}

}  // namespace lethe::exec
