// Verification codes and download links, with the mails read back from maildev.
#include "notify/links.h"

#include <regex>
#include <atomic>
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

}  // namespace

TEST_CASE("verification code: mailed, checked once, stored only as a digest", "[notify][links]") {
  World w;
  auto n = SmtpNotifier(w);
  const std::string email = "ada-" + RandomTag() + "@example.test";
  Request r = SubjectRequest(email);

  std::string code;
  REQUIRE(IssueVerificationCode(*w.store, r, kT0, &code).ok());
  REQUIRE(code.size() == 6);
  auto rec = w.store->GetRecord("verify_code", r.id);
  REQUIRE(rec->has_value());
  CHECK((*rec)->value.dump().find(code) == std::string::npos);

  REQUIRE(Deliver(*w.store, *n, kT0)->sent == 1);
  auto mails = MailsTo(email, 1);
  REQUIRE(mails.size() == 1);
  std::string text = mails[0]["text"];
  std::smatch m;
  REQUIRE(std::regex_search(text, m, std::regex("\\b(\\d{6})\\b")));
  CHECK(m[1] == code);
  CHECK(text.find(r.id) != std::string::npos);

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
  std::string code;
  REQUIRE(IssueVerificationCode(*w.store, r, kT0, &code).ok());
  Status st = CheckVerificationCode(*w.store, r.id, code, kT0 + std::chrono::seconds(kVerifyCodeTtlSeconds));
  CHECK(st.code() == Code::kInvalid);
  CHECK(st.message().find("expired") != std::string::npos);
  // A new code works again.
  REQUIRE(IssueVerificationCode(*w.store, r, kT0 + std::chrono::minutes(20), &code).ok());
  CHECK(CheckVerificationCode(*w.store, r.id, code, kT0 + std::chrono::minutes(21)).ok());
}

TEST_CASE("verification code: five wrong guesses lock it, even against the right code", "[notify][links]") {
  World w;
  Request r = SubjectRequest("x-" + RandomTag() + "@example.test");
  std::string code;
  REQUIRE(IssueVerificationCode(*w.store, r, kT0, &code).ok());
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
    std::string code;
    REQUIRE(IssueVerificationCode(*w.store, r, kT0, &code).ok());
    REQUIRE(std::regex_match(code, std::regex("\\d{6}")));
    seen.insert(code);
    if (code < "500000") ++low;
  }
  CHECK(seen.size() >= 195);          // collisions among 200 of 10^6 are rare
  CHECK(low > 60);                    // a fair coin lands far from 60/140
  CHECK(low < 140);
}

TEST_CASE("download link: mailed, resolves until it expires", "[notify][links]") {
  World w;
  auto n = SmtpNotifier(w);
  w.config.link_ttl = Duration{0, 0, 7, 0};
  const std::string email = "grace-" + RandomTag() + "@example.test";
  Request r = SubjectRequest(email);

  auto token = IssueDownloadLink(*w.store, w.config, r, kT0);
  REQUIRE(token.ok());
  CHECK(token->size() == 43);
  CHECK(std::regex_match(*token, std::regex("[A-Za-z0-9_-]{43}")));
  // Stored under its digest only.
  CHECK_FALSE(w.store->GetRecord("download_token", *token)->has_value());

  REQUIRE(Deliver(*w.store, *n, kT0)->sent == 1);
  auto mails = MailsTo(email, 1);
  REQUIRE(mails.size() == 1);
  std::string text = mails[0]["text"];
  CHECK(text.find("https://privacy.example.test/v1/downloads/" + *token) != std::string::npos);

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
  auto second = IssueDownloadLink(*w.store, w.config, r, kT0);
  REQUIRE(second.ok());
  CHECK(*second != *token);
}

TEST_CASE("verification code: parallel guessing cannot exceed the attempt limit", "[notify][links]") {
  World w;
  Request r = SubjectRequest("x-" + RandomTag() + "@example.test");
  std::string code;
  REQUIRE(IssueVerificationCode(*w.store, r, kT0, &code).ok());
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
