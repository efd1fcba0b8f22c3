// The outbox against a real SMTP server (maildev) and a real HTTP receiver.
#include "notify/outbox.h"

#include <sqlite3.h>

#include <set>

#include "notify_test_support.h"

using namespace lethe;
using namespace notify_test;
using nlohmann::json;

namespace {

const Time kT0 = FromUnix(1795000000);  // 2026-11-18

json SmtpNotify() { return {{"smtp", {{"url", ServiceEnv("LETHE_SMTP_URL")}, {"from", "privacy@example.test"}}}}; }

std::unique_ptr<Notifier> MakeNotifier(const Config& c) {
  auto n = Notifier::Create(c);
  INFO(n.status().ToString());
  REQUIRE(n.ok());
  return std::move(*n);
}

Message Mail(const std::string& to, const std::string& subject, const std::string& body) {
  Message m;
  m.channel = "email";
  m.to = {to};
  m.subject = subject;
  m.body = body;
  m.request_id = "req_test";
  return m;
}

Message Hook(const std::string& url, const std::string& payload) {
  Message m;
  m.channel = "webhook";
  m.url = url;
  m.payload = payload;
  m.request_id = "req_test";
  return m;
}

}  // namespace

TEST_CASE("outbox: a mail reaches the SMTP server once, with RFC 5322 headers", "[notify][outbox]") {
  PinClock pin(kT0);
  World w(SmtpNotify());
  auto n = MakeNotifier(w.config);
  const std::string to = "subject-" + RandomTag() + "@example.test";

  auto q = Enqueue(*w.store, "test:mail:" + to, Mail(to, "Grüße from Lethe", "line one\nline two\n.dot line\n"), kT0);
  REQUIRE(q.ok());
  REQUIRE(*q);
  // The same key again changes nothing.
  auto again = Enqueue(*w.store, "test:mail:" + to, Mail(to, "other", "other"), kT0);
  REQUIRE(again.ok());
  CHECK_FALSE(*again);
  CHECK(*OutboxState(*w.store, "test:mail:" + to) == "queued");

  auto d = Deliver(*w.store, *n, kT0);
  REQUIRE(d.ok());
  CHECK(d->sent == 1);
  CHECK(*OutboxState(*w.store, "test:mail:" + to) == "sent");
  // Sent: nothing more goes out, and the record no longer holds the address or body.
  auto d2 = Deliver(*w.store, *n, kT0 + std::chrono::hours(1));
  REQUIRE(d2.ok());
  CHECK(d2->sent == 0);
  auto rec = w.store->GetRecord(kOutboxKind, "test:mail:" + to);
  REQUIRE(rec.ok());
  REQUIRE(rec->has_value());
  CHECK((*rec)->value.dump().find(to) == std::string::npos);
  CHECK((*rec)->value.dump().find("line one") == std::string::npos);
  // Enqueue after sending is still refused: the key is spent forever.
  CHECK_FALSE(*Enqueue(*w.store, "test:mail:" + to, Mail(to, "x", "y"), kT0));

  auto mails = MailsTo(to, 1);
  REQUIRE(mails.size() == 1);
  const json& m = mails[0];
  CHECK(m["subject"] == "Grüße from Lethe");
  CHECK(m["from"][0]["address"] == "privacy@example.test");
  CHECK(m["messageId"] == DeliveryId("test:mail:" + to) + "@privacy.example.test");
  CHECK(m["headers"].contains("date"));
  CHECK(m["headers"]["auto-submitted"] == "auto-generated");
  std::string text = m["text"];
  CHECK(text.find("line one\nline two\n.dot line") != std::string::npos);
}

TEST_CASE("outbox: webhooks carry an HMAC signature the receiver can check", "[notify][outbox]") {
  setenv("LETHE_TEST_HOOK_SECRET", "s3cret-for-hooks", 1);
  Receiver rx;
  World w(json{{"webhooks", json::array({{{"url", rx.url()}, {"secret_env", "LETHE_TEST_HOOK_SECRET"}}})}});
  auto n = MakeNotifier(w.config);
  Message m = Hook(rx.url(), R"({"event":"approved","request_id":"req_1"})");
  m.signing = "hmac";
  m.secret_env = "LETHE_TEST_HOOK_SECRET";
  REQUIRE(*Enqueue(*w.store, "hook:1", m, kT0));
  auto d = Deliver(*w.store, *n, kT0);
  REQUIRE(d.ok());
  CHECK(d->sent == 1);

  auto calls = rx.calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].method == "POST");
  CHECK(calls[0].target == "/hook");
  CHECK(calls[0].body == m.payload);
  CHECK(calls[0].header("content-type") == "application/json");
  CHECK(calls[0].header("x-lethe-signature") == "sha256=" + HmacHex("s3cret-for-hooks", calls[0].body));
  CHECK(calls[0].header("x-lethe-signature") != "sha256=" + HmacHex("wrong", calls[0].body));
  CHECK(calls[0].header("x-lethe-delivery") == DeliveryId("hook:1"));
}

TEST_CASE("outbox: a failing webhook is retried with exponential backoff, then marked dead", "[notify][outbox]") {
  Receiver rx({500});
  World w;
  auto n = MakeNotifier(w.config);
  REQUIRE(*Enqueue(*w.store, "hook:fail", Hook(rx.url(), "{}"), kT0));

  Time now = kT0;
  std::vector<int64_t> waits;  // minutes between attempts
  Time last = now;
  int dead = 0;
  for (int minute = 0; minute < 600 && dead == 0; ++minute) {
    now = kT0 + std::chrono::minutes(minute);
    size_t before = rx.calls().size();
    auto d = Deliver(*w.store, *n, now);
    REQUIRE(d.ok());
    dead += d->dead;
    if (rx.calls().size() > before) {
      if (before > 0) waits.push_back((now - last).count() / 60);
      last = now;
    }
  }
  CHECK(dead == 1);
  CHECK(rx.calls().size() == static_cast<size_t>(kOutboxMaxAttempts));
  CHECK(waits == std::vector<int64_t>{2, 4, 8, 16, 32, 64, 128});
  CHECK(*OutboxState(*w.store, "hook:fail") == "dead");
  // Every attempt carried the same delivery id: receivers can deduplicate.
  for (const Call& c : rx.calls()) CHECK(c.header("x-lethe-delivery") == DeliveryId("hook:fail"));
  // Dead stays dead.
  auto d = Deliver(*w.store, *n, now + std::chrono::hours(48));
  REQUIRE(d.ok());
  CHECK(d->sent + d->retried + d->dead == 0);
}

TEST_CASE("outbox: a receiver that recovers gets the message on the retry", "[notify][outbox]") {
  Receiver rx({503, 200});
  World w;
  auto n = MakeNotifier(w.config);
  REQUIRE(*Enqueue(*w.store, "hook:recover", Hook(rx.url(), R"({"a":1})"), kT0));
  auto d1 = Deliver(*w.store, *n, kT0);
  REQUIRE(d1.ok());
  CHECK(d1->retried == 1);
  // Not due yet one minute later.
  auto d2 = Deliver(*w.store, *n, kT0 + std::chrono::minutes(1));
  REQUIRE(d2.ok());
  CHECK(rx.calls().size() == 1);
  auto d3 = Deliver(*w.store, *n, kT0 + std::chrono::minutes(2));
  REQUIRE(d3.ok());
  CHECK(d3->sent == 1);
  CHECK(rx.calls().size() == 2);
  CHECK(*OutboxState(*w.store, "hook:recover") == "sent");
}

TEST_CASE("outbox: one dead receiver costs one attempt per delivery run, not one per message", "[notify][outbox]") {
  World w;
  auto n = MakeNotifier(w.config);
  const std::string url = "http://127.0.0.1:" + std::to_string(DeadPort()) + "/hook";
  for (int i = 0; i < 5; ++i) REQUIRE(*Enqueue(*w.store, "hook:dead:" + std::to_string(i), Hook(url, "{}"), kT0));
  auto d = Deliver(*w.store, *n, kT0);
  REQUIRE(d.ok());
  CHECK(d->retried == 1);
  int queued_untried = 0;
  for (int i = 0; i < 5; ++i) {
    auto rec = w.store->GetRecord(kOutboxKind, "hook:dead:" + std::to_string(i));
    if ((*rec)->value["attempts"] == 0) ++queued_untried;
  }
  CHECK(queued_untried == 4);
}

TEST_CASE("outbox: unreachable SMTP server is retried, not lost", "[notify][outbox]") {
  World w(
      json{{"smtp", {{"url", "smtp://127.0.0.1:" + std::to_string(DeadPort())}, {"from", "privacy@example.test"}}}});
  auto n = MakeNotifier(w.config);
  REQUIRE(*Enqueue(*w.store, "mail:down", Mail("x@example.test", "s", "b"), kT0));
  auto d = Deliver(*w.store, *n, kT0);
  REQUIRE(d.ok());
  CHECK(d->retried == 1);
  CHECK(*OutboxState(*w.store, "mail:down") == "queued");
}

TEST_CASE("outbox: claims keep two senders apart and expire when a sender dies", "[notify][outbox]") {
  Receiver rx;
  World w;
  auto n = MakeNotifier(w.config);
  REQUIRE(*Enqueue(*w.store, "hook:claimed", Hook(rx.url(), "{}"), kT0));

  // Another process holds a live claim on attempt 0: we must not send.
  Record claim{"outbox_claim", "hook:claimed#0", json::object(), kT0 + std::chrono::minutes(10), kT0};
  REQUIRE(*w.store->PutRecordIfAbsent(claim));
  auto d1 = Deliver(*w.store, *n, kT0 + std::chrono::minutes(1));
  REQUIRE(d1.ok());
  CHECK(rx.calls().empty());
  CHECK(*OutboxState(*w.store, "hook:claimed") == "queued");

  // The claim outlived its lease: that sender died mid-attempt. The attempt
  // counts as failed and the message is retried after the backoff.
  auto d2 = Deliver(*w.store, *n, kT0 + std::chrono::minutes(11));
  REQUIRE(d2.ok());
  CHECK(d2->retried == 1);
  CHECK(rx.calls().empty());
  auto d3 = Deliver(*w.store, *n, kT0 + std::chrono::minutes(13));
  REQUIRE(d3.ok());
  CHECK(d3->sent == 1);
  CHECK(rx.calls().size() == 1);
}

TEST_CASE("outbox: malformed messages die at once instead of retrying", "[notify][outbox]") {
  World w(json{{"smtp", {{"url", "smtp://127.0.0.1:1"}, {"from", "privacy@example.test"}}}});
  auto n2 = MakeNotifier(w.config);
  // An address that tries to smuggle a second SMTP command.
  Message bad = Mail("x@example.test", "s", "b");
  bad.to = {"evil@example.test>\r\nRCPT TO:<other@example.test"};
  REQUIRE(*Enqueue(*w.store, "mail:bad", bad, kT0));
  auto d = Deliver(*w.store, *n2, kT0);
  REQUIRE(d.ok());
  CHECK(d->dead == 1);
  CHECK(*OutboxState(*w.store, "mail:bad") == "dead");
}

TEST_CASE("notifier: config errors name the field", "[notify]") {
  World w(json{{"webhooks", json::array({{{"url", "http://x/"}, {"secret_env", "LETHE_TEST_SURELY_UNSET_VAR"}}})}});
  auto n = Notifier::Create(w.config);
  REQUIRE_FALSE(n.ok());
  CHECK(n.status().field() == "/notify/webhooks/0/secret_env");
  w.config.notify = json::object();
  w.config.recipients = json::array({{{"name", "crm"}}});
  auto n2 = Notifier::Create(w.config);
  REQUIRE_FALSE(n2.ok());
  CHECK(n2.status().field() == "/recipients/0");
}

TEST_CASE("outbox: two processes delivering at once send each message once", "[notify][outbox]") {
  Receiver rx;
  World w;
  auto other = Store::Open(json{{"sqlite", "lethe.db"}}, w.dir.string());  // a second process's connection
  REQUIRE(other.ok());
  auto n1 = MakeNotifier(w.config);
  auto n2 = MakeNotifier(w.config);
  const int kMessages = 30;
  for (int i = 0; i < kMessages; ++i) {
    REQUIRE(
        *Enqueue(*w.store, "hook:race:" + std::to_string(i), Hook(rx.url(), "{\"i\":" + std::to_string(i) + "}"), kT0));
  }
  DeliveryStats s1, s2;
  std::thread a([&] { s1 = *Deliver(*w.store, *n1, kT0); });
  std::thread b([&] { s2 = *Deliver(**other, *n2, kT0); });
  a.join();
  b.join();
  CHECK(s1.sent + s2.sent == kMessages);
  auto calls = rx.calls();
  std::set<std::string> ids;
  for (const Call& c : calls) ids.insert(c.header("x-lethe-delivery"));
  CHECK(calls.size() == static_cast<size_t>(kMessages));
  CHECK(ids.size() == static_cast<size_t>(kMessages));
  // No claim is left behind.
  CHECK(w.store->Records("outbox_claim", std::nullopt, 10)->empty());
}

TEST_CASE("outbox: a very long line is wrapped, not bounced, and keeps its characters", "[notify][outbox]") {
  World w(SmtpNotify());
  auto n = MakeNotifier(w.config);
  const std::string to = "long-" + RandomTag() + "@example.test";
  std::string reason;
  for (int i = 0; i < 1500; ++i) reason += "é";  // 3000 bytes, one line
  REQUIRE(*Enqueue(*w.store, "test:long:" + to, Mail(to, "long", "Reason: " + reason + "\nend\n"), kT0));
  auto d = Deliver(*w.store, *n, kT0);
  REQUIRE(d.ok());
  CHECK(d->sent == 1);
  auto mails = MailsTo(to, 1);
  REQUIRE(mails.size() == 1);
  std::string text = mails[0]["text"];
  std::string joined;
  for (char c : text) {
    if (c != '\n' && c != '\r') joined += c;
  }
  CHECK(joined.find("Reason: " + reason + "end") != std::string::npos);
  size_t longest = 0, cur = 0;
  for (char c : text) {
    cur = c == '\n' ? 0 : cur + 1;
    longest = std::max(longest, cur);
  }
  CHECK(longest <= 998);
}

TEST_CASE("outbox: a claim the store fails to delete is reported, not dropped", "[notify][outbox]") {
  // A real SQLite trigger makes the store refuse to delete claims: the
  // delivery run must say so (old code ignored DeleteRecord's Status, leaving
  // a claim that the next run would count as a failed attempt).
  PinClock pin(kT0);
  World w(SmtpNotify());
  auto n = MakeNotifier(w.config);
  const std::string to = "claim-" + RandomTag() + "@example.test";
  REQUIRE(*Enqueue(*w.store, "test:claim:" + to, Mail(to, "s", "b"), kT0));
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((w.dir / "lethe.db").string().c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TRIGGER keep_claims BEFORE DELETE ON records WHEN old.kind = 'outbox_claim' "
                       "BEGIN SELECT RAISE(ABORT, 'claims are kept'); END;",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto d = Deliver(*w.store, *n, kT0);
  CHECK_FALSE(d.ok());
  CHECK(*OutboxState(*w.store, "test:claim:" + to) == "sent");  // the send itself is recorded
}
