// Verification codes and download links, with the mails read back from maildev.
#include "notify/links.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <regex>
#include <set>
#include <thread>

#include "notify/outbox.h"
#include "notify_test_support.h"

using namespace lethe;
using namespace notify_test;
using nlohmann::json;

namespace {

const Time kT0 = FromUnix(1795000000);

Request SubjectRequest(const std::string& email) {
  Request r;
  r.id = "req_" + RandomTag();
  r.type = RequestType::kAccess;
  r.subject.email = email;
  r.received_at = kT0;
  r.due_at = kT0 + std::chrono::days(30);
  r.due_date = "2026-12-18";
  return r;
}

std::unique_ptr<Notifier> SmtpNotifier(World& w) {
  w.config.notify = {{"smtp", {{"url", ServiceEnv("LETHE_SMTP_URL")}, {"from", "privacy@example.test"}}}};
  auto n = Notifier::Create(w.config);
  REQUIRE(n.ok());
  return std::move(*n);
}

// What sending a verification mail does: mint a code, keep its digest.
std::string Mint(World& w, const Request& r, Time now) {
  auto code = MintVerificationCode(*w.store, r.id, now);
  REQUIRE(code.ok());
  REQUIRE(code->size() == 6);
  return *code;
}

}  // namespace

TEST_CASE("verification code: mailed, checked once, stored only as a digest", "[notify][links]") {
  World w;
  auto n = SmtpNotifier(w);
  const std::string email = "ada-" + RandomTag() + "@example.test";
  Request r = SubjectRequest(email);

  REQUIRE(IssueVerificationCode(*w.store, r, kT0).ok());
  // Queued, not sent: no code exists yet, so none can sit in the store.
  CHECK(CheckVerificationCode(*w.store, r.id, "123456", kT0).code() == Code::kNotFound);

  REQUIRE(Deliver(*w.store, *n, kT0)->sent == 1);
  auto mails = MailsTo(email, 1);
  REQUIRE(mails.size() == 1);
  std::string text = mails[0]["text"];
  std::smatch m;
  REQUIRE(std::regex_search(text, m, std::regex("\\b(\\d{6})\\b")));
  const std::string code = m[1];
  CHECK(text.find(r.id) != std::string::npos);
  CHECK(text.find(kSecretPlaceholder) == std::string::npos);
  auto rec = w.store->GetRecord("verify_code", r.id);
  REQUIRE(rec->has_value());
  CHECK((*rec)->value.dump().find(code) == std::string::npos);  // only its digest

  const std::string wrong = code == "000000" ? "000001" : "000000";
  Status st = CheckVerificationCode(*w.store, r.id, wrong, kT0 + std::chrono::minutes(1));
  CHECK(st.code() == Code::kInvalid);
  CHECK(st.message() == "wrong code");
  // Not six digits: refused without spending an attempt.
  CHECK(CheckVerificationCode(*w.store, r.id, "12ab", kT0).code() == Code::kInvalid);
  CHECK((*w.store->GetRecord("verify_code", r.id))->value["attempts"] == 1);

  CHECK(CheckVerificationCode(*w.store, r.id, code, kT0 + std::chrono::minutes(2)).ok());
  // Consumed: it does not work twice.
  CHECK(CheckVerificationCode(*w.store, r.id, code, kT0 + std::chrono::minutes(3)).code() == Code::kNotFound);
}

TEST_CASE("verification code: expires after 15 minutes", "[notify][links]") {
  World w;
  Request r = SubjectRequest("x-" + RandomTag() + "@example.test");
  std::string code = Mint(w, r, kT0);
  Status st = CheckVerificationCode(*w.store, r.id, code, kT0 + std::chrono::seconds(kVerifyCodeTtlSeconds));
  CHECK(st.code() == Code::kInvalid);
  CHECK(st.message().find("expired") != std::string::npos);
  // A new code works again.
  code = Mint(w, r, kT0 + std::chrono::minutes(20));
  CHECK(CheckVerificationCode(*w.store, r.id, code, kT0 + std::chrono::minutes(21)).ok());
}

TEST_CASE("verification code: five wrong guesses lock it, even against the right code", "[notify][links]") {
  World w;
  Request r = SubjectRequest("x-" + RandomTag() + "@example.test");
  std::string code = Mint(w, r, kT0);
  int wrong_seen = 0;
  for (int i = 0; i < kVerifyMaxAttempts; ++i) {
    std::string guess = std::to_string(100000 + i);
    if (guess == code) guess = "999999";
    Status st = CheckVerificationCode(*w.store, r.id, guess, kT0);
    if (i + 1 < kVerifyMaxAttempts) {
      CHECK(st.code() == Code::kInvalid);
    } else {
      CHECK(st.code() == Code::kRateLimited);
    }
    ++wrong_seen;
  }
  CHECK(wrong_seen == kVerifyMaxAttempts);
  CHECK(CheckVerificationCode(*w.store, r.id, code, kT0).code() == Code::kRateLimited);
  // Lost attempt records do not reopen the door: the limit lives in unique
  // attempt slots, not only in the counter.
  Record rec = **w.store->GetRecord("verify_code", r.id);
  rec.value["attempts"] = 0;
  REQUIRE(w.store->PutRecord(rec).ok());
  CHECK(CheckVerificationCode(*w.store, r.id, code, kT0).code() == Code::kRateLimited);
}

TEST_CASE("verification code: at most five codes per request; subject needs an email", "[notify][links]") {
  World w;
  Request r = SubjectRequest("x-" + RandomTag() + "@example.test");
  for (int i = 0; i < kVerifyMaxIssues; ++i) REQUIRE(IssueVerificationCode(*w.store, r, kT0).ok());
  CHECK(IssueVerificationCode(*w.store, r, kT0).code() == Code::kRateLimited);
  Request anon = SubjectRequest("");
  anon.subject.user_id = "42";
  CHECK(IssueVerificationCode(*w.store, anon, kT0).code() == Code::kInvalid);
}

TEST_CASE("verification code: codes are six digits and spread over the range", "[notify][links]") {
  World w;
  std::set<std::string> seen;
  int low = 0;
  for (int i = 0; i < 200; ++i) {
    Request r = SubjectRequest("x@example.test");
    std::string code = Mint(w, r, kT0);
    REQUIRE(std::regex_match(code, std::regex("\\d{6}")));
    seen.insert(code);
    if (code < "500000") ++low;
  }
  CHECK(seen.size() >= 195);  // collisions among 200 of 10^6 are rare
  CHECK(low > 60);            // a fair coin lands far from 60/140
  CHECK(low < 140);
}

TEST_CASE("download link: mailed, resolves until it expires", "[notify][links]") {
  World w;
  auto n = SmtpNotifier(w);
  w.config.link_ttl = Duration{0, 0, 7, 0};
  const std::string email = "grace-" + RandomTag() + "@example.test";
  Request r = SubjectRequest(email);

  REQUIRE(IssueDownloadLink(*w.store, w.config, r, kT0).ok());
  CHECK(w.store->Records("download_token", std::nullopt, 10)->empty());  // made when the mail is sent

  REQUIRE(Deliver(*w.store, *n, kT0)->sent == 1);
  auto mails = MailsTo(email, 1);
  REQUIRE(mails.size() == 1);
  std::string text = mails[0]["text"];
  std::smatch link;
  REQUIRE(std::regex_search(text, link,
                            std::regex("https://privacy\\.example\\.test/v1/downloads/([A-Za-z0-9_-]{43})\\b")));
  const std::string tok = link[1];
  auto token = &tok;
  // Stored under its digest only.
  CHECK_FALSE(w.store->GetRecord("download_token", *token)->has_value());
  CHECK(w.store->Records("download_token", std::nullopt, 10)->size() == 1);

  auto id = ResolveDownloadToken(*w.store, *token, kT0 + std::chrono::days(6));
  REQUIRE(id.ok());
  CHECK(*id == r.id);
  CHECK(ResolveDownloadToken(*w.store, *token, kT0 + std::chrono::days(7)).status().code() == Code::kNotFound);

  std::string tampered = *token;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  CHECK(ResolveDownloadToken(*w.store, tampered, kT0).status().code() == Code::kNotFound);
  CHECK(ResolveDownloadToken(*w.store, "", kT0).status().code() == Code::kNotFound);
  CHECK(ResolveDownloadToken(*w.store, "../../etc/passwd", kT0).status().code() == Code::kNotFound);

  // Two links for one request are two different tokens.
  auto second = MintDownloadToken(*w.store, r.id, kT0 + std::chrono::days(7), kT0);
  REQUIRE(second.ok());
  CHECK(*second != *token);
}

TEST_CASE("verification code: parallel guessing cannot exceed the attempt limit", "[notify][links]") {
  World w;
  Request r = SubjectRequest("x-" + RandomTag() + "@example.test");
  std::string code = Mint(w, r, kT0);
  std::vector<std::unique_ptr<Store>> conns;
  for (int i = 0; i < 4; ++i) {
    auto s = Store::Open(json{{"sqlite", "lethe.db"}}, w.dir.string());
    REQUIRE(s.ok());
    conns.push_back(std::move(*s));
  }
  std::atomic<int> judged{0};  // guesses that were compared (invalid or rate-limited at the 5th)
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string guess = std::to_string(200000 + t * 100 + i);
        if (guess == code) continue;
        Status st = CheckVerificationCode(*conns[t], r.id, guess, kT0);
        if (st.code() == Code::kInvalid) ++judged;
      }
    });
  }
  for (auto& th : threads) th.join();
  // At most 4 "wrong code" answers (the 5th wrong guess answers rate_limited).
  CHECK(judged.load() <= kVerifyMaxAttempts - 1);
  CHECK(CheckVerificationCode(*w.store, r.id, code, kT0).code() == Code::kRateLimited);
}

namespace {
// Every outbox record as the store file holds it, read with a separate
// connection (what someone with a copy of lethe.db sees).
std::string OutboxText(World& w) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2((w.dir / "lethe.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT key, value FROM records WHERE kind='outbox'", -1, &st, nullptr) == SQLITE_OK);
  std::string all;
  while (sqlite3_step(st) == SQLITE_ROW) {
    all += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    all += "\n";
    all += reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    all += "\n";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return all;
}
}  // namespace

TEST_CASE("outbox: queued mails hold no code and no link; both are made at send time and work",
          "[notify][links][outbox]") {
  World w;
  auto n = SmtpNotifier(w);
  const std::string email = "oz-" + RandomTag() + "@example.test";
  Request r = SubjectRequest(email);
  REQUIRE(IssueVerificationCode(*w.store, r, kT0).ok());
  REQUIRE(IssueDownloadLink(*w.store, w.config, r, kT0).ok());

  const std::string queued = OutboxText(w);
  REQUIRE(queued.find(r.id) != std::string::npos);            // the two mails are there...
  CHECK(queued.find("/v1/downloads/") == std::string::npos);  // ...without a link
  json bodies = json::array();
  auto outbox = w.store->Records(kOutboxKind, std::nullopt, 10);
  REQUIRE(outbox.ok());
  for (const Record& rec : *outbox) {
    const std::string body = rec.value["message"]["body"];
    CHECK(body.find(kSecretPlaceholder) != std::string::npos);
    // No six-digit number anywhere in a queued body (the reference is the request id).
    CHECK_FALSE(std::regex_search(body, std::regex("\\b\\d{6}\\b")));
    bodies.push_back(rec.value["message"]["secret"]);
  }
  CHECK(bodies.size() == 2);
  // Nothing to check a code against, and no token, until the mails go out.
  CHECK(w.store->Records("download_token", std::nullopt, 10)->empty());

  REQUIRE(Deliver(*w.store, *n, kT0)->sent == 2);
  auto mails = MailsTo(email, 2);
  REQUIRE(mails.size() == 2);
  std::string code, token;
  for (const json& mail : mails) {
    const std::string text = mail["text"];
    std::smatch m;
    if (std::regex_search(text, m, std::regex("/v1/downloads/([A-Za-z0-9_-]{43})")))
      token = m[1];
    else if (std::regex_search(text, m, std::regex("\\b(\\d{6})\\b")))
      code = m[1];
  }
  REQUIRE(code.size() == 6);
  REQUIRE(token.size() == 43);
  // Sent entries keep no body; the token is nowhere in the store, in clear.
  CHECK(OutboxText(w).find(token) == std::string::npos);
  CHECK(OutboxText(w).find("/v1/downloads/") == std::string::npos);
  auto opened = ResolveDownloadToken(*w.store, token, kT0 + std::chrono::hours(1));
  REQUIRE(opened.ok());
  CHECK(*opened == r.id);
  CHECK(CheckVerificationCode(*w.store, r.id, code, kT0 + std::chrono::minutes(1)).ok());
}

TEST_CASE("smtp: with a password, mail goes over TLS or not at all", "[notify][smtp]") {
  World w;
  const std::string user_env = "LETHE_TEST_SMTP_USER_" + RandomTag();
  const std::string pw_env = "LETHE_TEST_SMTP_PW_" + RandomTag();
  ::setenv(user_env.c_str(), "mailer", 1);
  ::setenv(pw_env.c_str(), "hunter2-secret", 1);
  const std::string email = "tls-" + RandomTag() + "@example.test";

  // No password: opportunistic STARTTLS, and maildev (no STARTTLS) gets the mail.
  auto plain = SmtpNotifier(w);
  CHECK_FALSE(plain->smtp_requires_tls());

  // A password: TLS required. maildev offers no STARTTLS, so the send fails
  // with a clear error and nothing (no credentials, no mail) reaches it.
  w.config.notify = {{"smtp",
                      {{"url", ServiceEnv("LETHE_SMTP_URL")},
                       {"from", "privacy@example.test"},
                       {"username_env", user_env},
                       {"password_env", pw_env}}}};
  auto n = Notifier::Create(w.config);
  REQUIRE(n.ok());
  CHECK((*n)->smtp_requires_tls());
  Message m;
  m.channel = "email";
  m.to = {email};
  m.subject = "tls test";
  m.body = "must not be sent in clear";
  Status st = (*n)->Send(m, "tls-" + RandomTag());
  CHECK(st.code() == Code::kUnavailable);
  CHECK(st.message().find("TLS") != std::string::npos);
  CHECK(st.message().find("hunter2") == std::string::npos);
  // The same mail without a password goes through: the failure above was the TLS rule.
  REQUIRE(plain->Send(m, "tls-" + RandomTag()).ok());
  CHECK(MailsTo(email, 1).size() == 1);
  ::unsetenv(user_env.c_str());
  ::unsetenv(pw_env.c_str());
}
