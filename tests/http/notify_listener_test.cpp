// AttachNotifications end to end: Workflow -> listener -> outbox -> Scheduler
// -> maildev / loopback receivers, signatures checked the way a receiver would.
#include "notify/notifications.h"

#include <regex>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "notify/links.h"
#include "notify/scheduler.h"
#include "notify_test_support.h"

using namespace lethe;
using namespace notify_test;
using nlohmann::json;

namespace {

const Time kT0 = FromUnix(1795000000);

json Smtp() { return {{"url", ServiceEnv("LETHE_SMTP_URL")}, {"from", "privacy@example.test"}}; }

// Everything a running server has: workflow with the listener, notifier, scheduler.
struct Service {
  World& w;
  Workflow wf;
  std::unique_ptr<Notifier> notifier;
  std::unique_ptr<Scheduler> scheduler;
  explicit Service(World& world) : w(world), wf(*world.store, Engine(), Policy()) {
    auto n = Notifier::Create(w.config);
    INFO(n.status().ToString());
    REQUIRE(n.ok());
    notifier = std::move(*n);
    AttachNotifications(wf, *notifier, w.config);
    scheduler = std::make_unique<Scheduler>(wf, *notifier, w.config);
  }
  void Tick(Time t) {
    auto r = scheduler->Tick(t);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
  }
};

Request Complete(Workflow& wf, const std::string& id, Outcome outcome = {}) {
  REQUIRE(wf.Act(id, Action::kApprove, "alice", "").ok());
  REQUIRE(wf.Start(id, "test-worker#1", std::chrono::seconds(60)).ok());
  auto done = wf.Finish(id, "test-worker#1", Result<Outcome>(outcome));
  INFO(done.status().ToString());
  REQUIRE(done.ok());
  return *done;
}

bool VerifyRsa(EVP_PKEY* key, const std::string& body, const std::string& sig_b64) {
  std::string sig(sig_b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(sig.data()),
                          reinterpret_cast<const unsigned char*>(sig_b64.data()), static_cast<int>(sig_b64.size()));
  if (n < 0) return false;
  size_t pad = 0;
  if (!sig_b64.empty() && sig_b64.back() == '=') ++pad;
  if (sig_b64.size() > 1 && sig_b64[sig_b64.size() - 2] == '=') ++pad;
  sig.resize(n - pad);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(body.data()), body.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace

TEST_CASE("listener: status webhooks are signed; OpenDSR callbacks carry a verifiable RSA signature",
          "[notify][listener]") {
  PinClock pin(kT0);
  setenv("LETHE_TEST_HOOK_SECRET2", "hook-secret-2", 1);
  Receiver hooks, callbacks;
  World w(json{
      {"webhooks", json::array({{{"url", hooks.url()}, {"secret_env", "LETHE_TEST_HOOK_SECRET2"}}})},
      {"opendsr",
       {{"private_key_file", "opendsr.pem"}, {"controller_id", "ctl-1"}, {"allow_callback_hosts", {"127.0.0.1"}}}}});
  EVP_PKEY* key = EVP_RSA_gen(2048);
  REQUIRE(key != nullptr);
  {
    FILE* f = std::fopen((w.dir / "opendsr.pem").c_str(), "w");
    REQUIRE(f != nullptr);
    REQUIRE(PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    std::fclose(f);
  }
  Service svc(w);
  REQUIRE(svc.notifier->can_sign_opendsr());

  const std::string email = "od-" + RandomTag() + "@example.test";
  NewRequest in;
  in.type = RequestType::kErasure;
  in.channel = "opendsr";
  in.subject.email = email;
  in.verified = true;
  in.external_id = "a7551968-d5d6-44b2-9831-815ac9017798";
  in.status_callback_urls = {callbacks.url("/cb")};
  auto r = svc.wf.Submit(in, "alice");
  REQUIRE(r.ok());
  Complete(svc.wf, r->id);
  svc.Tick(kT0);

  // received(pending), approved, started, completed.
  auto hc = hooks.calls();
  REQUIRE(hc.size() == 4);
  std::vector<std::string> statuses;
  for (const Call& c : hc) {
    CHECK(c.header("x-lethe-signature") == "sha256=" + HmacHex("hook-secret-2", c.body));
    CHECK(c.body.find(email) == std::string::npos);
    json b = json::parse(c.body);
    CHECK(b["request_id"] == r->id);
    statuses.push_back(b["status"]);
  }
  CHECK(statuses == std::vector<std::string>{"pending", "approved", "in_progress", "completed"});

  // pending -> approved is no OpenDSR change; -> in_progress and -> completed are.
  auto cc = callbacks.calls();
  REQUIRE(cc.size() == 2);
  std::vector<std::string> od;
  for (const Call& c : cc) {
    CHECK(c.target == "/cb");
    CHECK(c.header("x-opendsr-processor-domain") == "privacy.example.test");
    CHECK(VerifyRsa(key, c.body, c.header("x-opendsr-signature")));
    CHECK_FALSE(VerifyRsa(key, c.body + " ", c.header("x-opendsr-signature")));
    json b = json::parse(c.body);
    CHECK(b["controller_id"] == "ctl-1");
    CHECK(b["subject_request_id"] == "a7551968-d5d6-44b2-9831-815ac9017798");
    CHECK(b["status_callback_url"] == callbacks.url("/cb"));
    CHECK(b["api_version"] == "2.0");
    CHECK(b.contains("expected_completion_time"));
    od.push_back(b["request_status"]);
  }
  CHECK(od == std::vector<std::string>{"in_progress", "completed"});
  EVP_PKEY_free(key);

  // Nothing is sent twice.
  svc.Tick(kT0 + std::chrono::hours(1));
  CHECK(hooks.calls().size() == 4);
  CHECK(callbacks.calls().size() == 2);
}

TEST_CASE("listener: completed erasure notifies every Art. 19 recipient and audits it", "[notify][listener]") {
  PinClock pin(kT0);
  setenv("LETHE_TEST_CRM_SECRET", "crm-secret", 1);
  Receiver crm;
  const std::string partner = "partner-" + RandomTag() + "@example.test";
  const std::string email = "er-" + RandomTag() + "@example.test";
  World w(json{{"smtp", Smtp()}},
          json::array({{{"name", "crm"}, {"webhook", crm.url("/art19")}, {"secret_env", "LETHE_TEST_CRM_SECRET"}},
                       {{"name", "partner"}, {"email", partner}}}));
  Service svc(w);
  NewRequest in;
  in.type = RequestType::kErasure;
  in.subject.email = email;
  in.verified = true;
  auto r = svc.wf.Submit(in, "alice");
  REQUIRE(r.ok());
  Request done = Complete(svc.wf, r->id);
  svc.Tick(kT0);

  const std::string ref = svc.wf.SubjectRef(done.subject);
  auto calls = crm.calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].header("x-lethe-signature") == "sha256=" + HmacHex("crm-secret", calls[0].body));
  CHECK(calls[0].body.find(email) == std::string::npos);
  json b = json::parse(calls[0].body);
  CHECK(b["request_id"] == r->id);
  CHECK(b["type"] == "erasure");
  CHECK(b["subject_ref"] == ref);
  CHECK(b["completed_at"] == FormatRfc3339(*done.completed_at));

  auto pm = MailsTo(partner, 1);
  REQUIRE(pm.size() == 1);
  CHECK(pm[0]["text"].get<std::string>().find(ref) != std::string::npos);
  CHECK(pm[0]["text"].get<std::string>().find(email) == std::string::npos);

  std::set<std::string> notified;
  auto audit = w.store->Audit(r->id);
  REQUIRE(audit.ok());
  for (const AuditEntry& e : *audit) {
    if (e.kind == "recipient_notified") {
      notified.insert(e.detail["recipient"].get<std::string>());
      CHECK(e.subject_ref == ref);
    }
  }
  CHECK(notified == std::set<std::string>{"crm", "partner"});
  CHECK(VerifyChain(*w.store->Audit()).ok());
  // The subject hears that it is done.
  auto sm = MailsTo(email, 1);
  REQUIRE(sm.size() == 1);
  CHECK(sm[0]["subject"].get<std::string>().find("complete") != std::string::npos);
}

TEST_CASE("listener: an unreachable Art. 19 recipient ends as an audited failure", "[notify][listener]") {
  PinClock pin(kT0);
  World w(json::object(),
          json::array({{{"name", "gone"}, {"webhook", "http://127.0.0.1:" + std::to_string(DeadPort()) + "/x"}}}));
  Service svc(w);
  NewRequest in;
  in.type = RequestType::kRestriction;
  in.subject.user_id = "u1";
  in.verified = true;
  auto r = svc.wf.Submit(in, "alice");
  REQUIRE(r.ok());
  Complete(svc.wf, r->id);
  for (int m = 0; m < 600; ++m) svc.Tick(kT0 + std::chrono::minutes(m));
  int failed = 0;
  auto audit = w.store->Audit(r->id);
  REQUIRE(audit.ok());
  for (const AuditEntry& e : *audit) failed += e.kind == "recipient_notified_failed";
  CHECK(failed == 1);
}

TEST_CASE("listener: a completed access request mails a working download link", "[notify][listener]") {
  PinClock pin(kT0);
  const std::string email = "dl-" + RandomTag() + "@example.test";
  World w(json{{"smtp", Smtp()}});
  Service svc(w);
  NewRequest in;
  in.subject.email = email;
  in.verified = true;
  auto r = svc.wf.Submit(in, "alice");
  REQUIRE(r.ok());
  Complete(svc.wf, r->id, ExportedTo((w.dir / "x.zip").string()));
  svc.Tick(kT0);
  auto mails = MailsTo(email, 1);
  REQUIRE(mails.size() == 1);
  std::string text = mails[0]["text"];
  std::smatch m;
  REQUIRE(std::regex_search(text, m, std::regex("https://privacy\\.example\\.test/v1/downloads/([A-Za-z0-9_-]{43})")));
  auto id = ResolveDownloadToken(*w.store, m[1], kT0 + std::chrono::hours(1));
  REQUIRE(id.ok());
  CHECK(*id == r->id);
}

TEST_CASE("listener: a request that came by email gets a verification code", "[notify][listener]") {
  PinClock pin(kT0);
  const std::string email = "in-" + RandomTag() + "@example.test";
  const std::string ops = "ops-" + RandomTag() + "@example.test";
  World w(json{{"smtp", Smtp()}, {"operators", json::array({ops})}});
  Service svc(w);
  NewRequest in;
  in.channel = "email";
  in.subject.email = email;
  auto r = svc.wf.Submit(in, "alice");
  REQUIRE(r.ok());
  REQUIRE(r->status == RequestStatus::kUnverified);
  svc.Tick(kT0);

  auto mails = MailsTo(email, 1);
  REQUIRE(mails.size() == 1);
  std::smatch m;
  std::string text = mails[0]["text"];
  REQUIRE(std::regex_search(text, m, std::regex("\\b(\\d{6})\\b")));
  CHECK(CheckVerificationCode(*w.store, r->id, m[1], kT0 + std::chrono::minutes(5)).ok());
  CHECK(svc.wf.Act(r->id, Action::kVerify, "subject", "").ok());
  // Operators heard of the new request, without the address.
  auto om = MailsTo(ops, 1);
  REQUIRE(om.size() == 1);
  CHECK(om[0]["text"].get<std::string>().find(email) == std::string::npos);
  // Nothing in the outbox still holds the code once sent.
  auto outbox = w.store->Records("outbox", std::nullopt, 100);
  REQUIRE(outbox.ok());
  REQUIRE_FALSE(outbox->empty());
  for (const Record& rec : *outbox) {
    CHECK(rec.value.dump().find(m[1].str()) == std::string::npos);
  }
}

TEST_CASE("listener: extension and refusal are explained to the subject", "[notify][listener]") {
  PinClock pin(kT0);
  const std::string a = "ext-" + RandomTag() + "@example.test";
  const std::string b = "den-" + RandomTag() + "@example.test";
  World w(json{{"smtp", Smtp()}});
  Service svc(w);
  NewRequest in;
  in.subject.email = a;
  in.verified = true;
  auto r1 = svc.wf.Submit(in, "alice");
  in.subject.email = b;
  auto r2 = svc.wf.Submit(in, "alice");
  REQUIRE(r1.ok());
  REQUIRE(r2.ok());
  auto ext = svc.wf.Act(r1->id, Action::kExtend, "alice", "hundreds of systems to search");
  REQUIRE(ext.ok());
  REQUIRE(svc.wf.Act(r2->id, Action::kDeny, "alice", "manifestly unfounded (Art. 12(5))").ok());
  svc.Tick(kT0);
  svc.Tick(kT0 + std::chrono::minutes(1));  // the scheduler's backstop must not send a second notice

  auto ma = MailsTo(a, 1);
  REQUIRE(ma.size() == 1);
  std::string ta = ma[0]["text"];
  CHECK(ta.find("hundreds of systems to search") != std::string::npos);
  CHECK(ta.find(ext->due_date) != std::string::npos);
  auto mb = MailsTo(b, 1);
  REQUIRE(mb.size() == 1);
  std::string tb = mb[0]["text"];
  CHECK(tb.find("manifestly unfounded") != std::string::npos);
  CHECK(tb.find("supervisory") != std::string::npos);
}

TEST_CASE("listener: operators hear of a failed request, once per failure", "[notify][listener]") {
  PinClock pin(kT0);
  const std::string ops = "ops-" + RandomTag() + "@example.test";
  World w(json{{"smtp", Smtp()}, {"operators", json::array({ops})}});
  Service svc(w);
  NewRequest in;
  in.subject.user_id = "u-" + RandomTag();
  in.verified = true;
  auto r = svc.wf.Submit(in, "alice");
  REQUIRE(r.ok());
  REQUIRE(svc.wf.Act(r->id, Action::kApprove, "alice", "").ok());
  REQUIRE(svc.wf.Start(r->id, "test-worker#1", std::chrono::seconds(60)).ok());
  REQUIRE(
      svc.wf.Finish(r->id, "test-worker#1", Result<Outcome>(Status::Unavailable("connector app unreachable"))).ok());
  REQUIRE(svc.wf.Act(r->id, Action::kRetry, "alice", "").ok());
  REQUIRE(svc.wf.Start(r->id, "test-worker#1", std::chrono::seconds(60)).ok());
  REQUIRE(
      svc.wf.Finish(r->id, "test-worker#1", Result<Outcome>(Status::Unavailable("connector app unreachable"))).ok());
  svc.Tick(kT0);
  svc.Tick(kT0 + std::chrono::minutes(1));
  auto mails = MailsTo(ops, 3);
  int failed = 0;
  for (const json& m : mails) {
    if (m["subject"].get<std::string>().find("failed") == std::string::npos) continue;
    ++failed;
    CHECK(m["text"].get<std::string>().find("connector app unreachable") != std::string::npos);
  }
  CHECK(failed == 2);
}
