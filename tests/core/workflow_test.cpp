#include <catch2/catch.hpp>

#include "lethe/workflow.h"
#include "test_util.h"

using namespace lethe;
using S = RequestStatus;

namespace {

struct World {
  testing::TempDir dir;
  std::unique_ptr<Store> store = testing::OpenTestStore(dir);
  std::unique_ptr<Workflow> wf;
  explicit World(WorkflowPolicy policy = {}) {
    DeadlineRules rules;
    rules.timezone = "Europe/Berlin";
    policy.pseudonym_key = "test-key";
    wf = std::make_unique<Workflow>(*store, *DeadlineEngine::Create(rules), policy);
  }
  Request Submit(RequestType t, bool verified, std::string channel = "email") {
    NewRequest in;
    in.type = t;
    in.subject.email = "ada@example.com";
    in.verified = verified;
    in.channel = channel;
    auto r = wf->Submit(in, "tester");
    REQUIRE(r.ok());
    return *r;
  }
};

// The audit chain must hold after every step, and never contain the email.
void CheckAudit(Store& store) {
  auto entries = store.Audit();
  REQUIRE(entries.ok());
  CHECK(VerifyChain(*entries).ok());
  for (const auto& e : *entries) CHECK(ToJson(e).dump().find("ada@example.com") == std::string::npos);
}

}  // namespace

TEST_CASE("a request walks the whole lifecycle with one event and audit entry per step", "[workflow]") {
  World w;
  Request r = w.Submit(RequestType::kErasure, false);
  CHECK(r.status == S::kUnverified);
  CHECK(r.due_date == std::string(r.due_date));  // computed
  auto step = [&](Action a, const std::string& reason = "", nlohmann::json args = nlohmann::json::object()) {
    auto res = w.wf->Act(r.id, a, "alice", reason, args);
    INFO(res.status().ToString());
    REQUIRE(res.ok());
    r = *res;
    CheckAudit(*w.store);
  };
  step(Action::kVerify);
  CHECK(r.status == S::kPending);
  CHECK(r.verified);
  step(Action::kHold, "", {{"reason_kind", "clarification"}});
  CHECK(r.status == S::kOnHold);
  step(Action::kResume);
  CHECK(r.status == S::kPending);
  step(Action::kAssign, "", {{"assignee", "bob"}});
  CHECK(r.assignee == std::optional<std::string>("bob"));
  Time first_due = r.due_at;
  step(Action::kExtend, "complex request, many systems");
  CHECK(r.extended);
  CHECK(r.due_at > first_due);
  step(Action::kApprove);
  CHECK(r.status == S::kApproved);
  step(Action::kCancel);
  CHECK(r.status == S::kCancelled);

  auto events = w.store->Events(r.id);
  REQUIRE(events.ok());
  std::vector<std::string> kinds;
  for (const auto& e : *events) kinds.push_back(e.kind);
  CHECK(kinds == std::vector<std::string>{"received", "verified", "on_hold", "resumed", "assigned", "extended",
                                          "approved", "cancelled"});
  CHECK(w.store->Audit()->size() == 8);
}

TEST_CASE("deny and extend need a reason; a second extension is refused", "[workflow]") {
  World w;
  Request r = w.Submit(RequestType::kAccess, true);
  auto denied = w.wf->Act(r.id, Action::kDeny, "alice", "");
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.status().field() == "/reason");
  REQUIRE(w.wf->Act(r.id, Action::kExtend, "alice", "volume").ok());
  auto again = w.wf->Act(r.id, Action::kExtend, "alice", "again");
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Code::kConflict);
  REQUIRE(w.wf->Act(r.id, Action::kDeny, "alice", "manifestly unfounded (Art. 12(5))").ok());
  auto approve = w.wf->Act(r.id, Action::kApprove, "alice", "");
  REQUIRE_FALSE(approve.ok());
  CHECK_THAT(approve.status().message(), Catch::Contains("\"denied\""));
}

TEST_CASE("self-service auto-approval and erasure grace", "[workflow]") {
  WorkflowPolicy p;
  p.auto_approve = {RequestType::kAccess, RequestType::kErasure};
  p.erasure_grace = *ParseIsoDuration("P7D");
  World w(p);
  Request access = w.Submit(RequestType::kAccess, true, "self_service");
  CHECK(access.status == S::kApproved);
  CHECK_FALSE(access.not_before.has_value());
  Request erasure = w.Submit(RequestType::kErasure, true, "self_service");
  CHECK(erasure.status == S::kApproved);
  REQUIRE(erasure.not_before.has_value());
  CHECK(*erasure.not_before - Now() > std::chrono::hours(24 * 6));
  Request rect = w.Submit(RequestType::kRectification, true, "self_service");
  CHECK(rect.status == S::kPending);  // not in auto_approve
  Request inbox = w.Submit(RequestType::kAccess, true, "email");
  CHECK(inbox.status == S::kPending);  // only self-service is auto-approved
}

namespace {
// An executor that records what it was asked and returns a canned outcome.
struct CountingExecutor : Executor {
  int calls = 0;
  bool fail = false;
  Result<nlohmann::json> Execute(const Request& r) override {
    ++calls;
    if (fail) return Status::Unavailable("connector app unreachable");
    return nlohmann::json{{"counts", {{"app.users", 1}}}};
  }
  Result<nlohmann::json> Plan(const Request&) override { return nlohmann::json::array(); }
};
}  // namespace

TEST_CASE("the worker executes approved requests once, respects grace, and resumes in-progress ones", "[workflow]") {
  WorkflowPolicy p;
  p.auto_approve = {RequestType::kErasure, RequestType::kAccess};
  p.erasure_grace = *ParseIsoDuration("P1D");
  World w(p);
  CountingExecutor ex;
  Worker worker(*w.wf, ex);
  Request graced = w.Submit(RequestType::kErasure, true, "self_service");
  Request now = w.Submit(RequestType::kAccess, true, "self_service");
  REQUIRE(*worker.RunOnce() == 1);
  CHECK(ex.calls == 1);
  CHECK(w.store->Get(now.id)->status == S::kCompleted);
  CHECK(w.store->Get(graced.id)->status == S::kApproved);
  REQUIRE(*worker.RunOnce() == 0);  // nothing new: completed requests are not run again
  CHECK(ex.calls == 1);

  // A crash left a request in_progress: the next run resumes it.
  Request crashed = w.Submit(RequestType::kAccess, true, "self_service");
  REQUIRE(w.wf->Start(crashed.id).ok());
  REQUIRE(*worker.RunOnce() == 1);
  CHECK(w.store->Get(crashed.id)->status == S::kCompleted);

  // Failure is recorded with its reason, and retry queues it again.
  ex.fail = true;
  Request failing = w.Submit(RequestType::kAccess, true, "self_service");
  REQUIRE(*worker.RunOnce() == 1);
  auto f = *w.store->Get(failing.id);
  CHECK(f.status == S::kFailed);
  CHECK(f.result["error"] == "connector app unreachable");
  ex.fail = false;
  REQUIRE(w.wf->Act(failing.id, Action::kRetry, "alice", "").ok());
  REQUIRE(*worker.RunOnce() == 1);
  CHECK(w.store->Get(failing.id)->status == S::kCompleted);
  // Stats count each run: now (1), crashed (1), failing (failed once, then completed).
  auto stats = w.store->Stats(Now());
  REQUIRE(stats.ok());
  CHECK((*stats)["execution"]["access"]["count"] == 4);
  CHECK((*stats)["execution"]["access"]["seconds"] >= 0);
  CheckAudit(*w.store);
}

TEST_CASE("a stale update is refused instead of overwriting", "[workflow][store]") {
  World w;
  Request r = w.Submit(RequestType::kAccess, true);
  Request stale = *w.store->Get(r.id);
  REQUIRE(w.wf->Act(r.id, Action::kApprove, "alice", "").ok());
  stale.status = S::kDenied;
  Status st = w.store->Update(stale, Event{0, Now(), "denied", "bob", "x", "", ""}, AuditEntry{});
  CHECK(st.code() == Code::kConflict);
  CHECK(w.store->Get(r.id)->status == S::kApproved);
}

TEST_CASE("bad submissions name the field", "[workflow]") {
  World w;
  NewRequest in;
  auto r = w.wf->Submit(in, "x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().field() == "/subject");
  in.subject.email = "not-an-email";
  r = w.wf->Submit(in, "x");
  CHECK(r.status().field() == "/subject/email");
  in.subject.email = "a@b.c";
  in.received_at = Now() + std::chrono::hours(48);
  r = w.wf->Submit(in, "x");
  CHECK(r.status().field() == "/received_at");
}

TEST_CASE("list filters, sorts by due date and pages with a cursor", "[store]") {
  World w;
  std::set<std::string> ids;
  for (int i = 0; i < 23; ++i) {
    NewRequest in;
    in.type = i % 2 ? RequestType::kAccess : RequestType::kErasure;
    in.subject.email = "user" + std::to_string(i) + "@example.com";
    in.received_at = Now() - std::chrono::hours(24 * (i % 7));
    in.verified = true;
    ids.insert(w.wf->Submit(in, "x")->id);
  }
  RequestFilter f;
  f.now = Now();
  f.limit = 5;
  std::set<std::string> seen;
  Time last{};
  int pages = 0;
  do {
    auto page = w.store->List(f);
    REQUIRE(page.ok());
    for (const auto& r : page->items) {
      CHECK(r.due_at >= last);
      last = r.due_at;
      CHECK(seen.insert(r.id).second);  // no duplicates across pages
    }
    f.cursor = page->next_cursor;
    ++pages;
  } while (!f.cursor.empty());
  CHECK(seen == ids);
  CHECK(pages == 5);

  RequestFilter by_type;
  by_type.type = RequestType::kAccess;
  by_type.limit = 100;
  CHECK(w.store->List(by_type)->items.size() == 11);
  RequestFilter q;
  q.q = "user13@";
  CHECK(w.store->List(q)->items.size() == 1);
  RequestFilter wild;
  wild.q = "%";  // a LIKE wildcard typed by a user is matched literally
  CHECK(w.store->List(wild)->items.empty());
  RequestFilter bad;
  bad.cursor = "garbage";
  CHECK(w.store->List(bad).status().field() == "/cursor");
}

TEST_CASE("records: first writer wins", "[store]") {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir);
  Record r{"outbox", "reminder:req_1:P7D", {{"to", "ops"}}, Now(), {}};
  CHECK(*store->PutRecordIfAbsent(r) == true);
  r.value = {{"to", "other"}};
  CHECK(*store->PutRecordIfAbsent(r) == false);
  CHECK((*store->GetRecord("outbox", "reminder:req_1:P7D"))->value["to"] == "ops");
  CHECK(store->Records("outbox", Now(), 10)->size() == 1);
  CHECK(store->DeleteRecord("outbox", "reminder:req_1:P7D").ok());
  CHECK_FALSE(store->GetRecord("outbox", "reminder:req_1:P7D")->has_value());
}

TEST_CASE("reopening the store keeps data and does not rerun migrations", "[store]") {
  testing::TempDir dir;
  std::string id;
  {
    auto store = testing::OpenTestStore(dir);
    AuditEntry e;
    e.kind = "x";
    e.actor = "y";
    REQUIRE(store->AppendAudit(e).ok());
  }
  auto store = testing::OpenTestStore(dir);
  CHECK(store->Audit()->size() == 1);
}

TEST_CASE("a completed erasure keeps a receipt, not the person", "[workflow]") {
  World w;
  CountingExecutor ex;
  Worker worker(*w.wf, ex);
  Request r = w.Submit(RequestType::kErasure, true);
  REQUIRE(w.wf->Act(r.id, Action::kApprove, "alice", "").ok());
  REQUIRE(*worker.RunOnce() == 1);
  Request done = *w.store->Get(r.id);
  CHECK(done.status == S::kCompleted);
  CHECK(done.subject.email.empty());
  CHECK(done.result["subject_ref"] == w.wf->SubjectRef(Subject{"ada@example.com", "", "", {}}));
  CHECK(done.ToJson(Now()).dump().find("ada@example.com") == std::string::npos);
  RequestFilter f;
  f.q = "ada@";
  CHECK(w.store->List(f)->items.empty());
  // Every audit entry of the request names the same pseudonym.
  auto audit = w.store->Audit(r.id);
  REQUIRE(audit->size() >= 5);
  for (const auto& a : *audit) CHECK(a.subject_ref == done.result["subject_ref"]);
  CheckAudit(*w.store);
}
