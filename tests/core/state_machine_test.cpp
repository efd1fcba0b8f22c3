#include <catch2/catch.hpp>

#include "lethe/state_machine.h"

using namespace lethe;
using S = RequestStatus;

TEST_CASE("every legal transition of the table", "[state]") {
  struct Case {
    S from;
    Action a;
    S to;
  };
  const Case cases[] = {
      {S::kUnverified, Action::kVerify, S::kPending},   {S::kPending, Action::kApprove, S::kApproved},
      {S::kApproved, Action::kStart, S::kInProgress},   {S::kInProgress, Action::kComplete, S::kCompleted},
      {S::kInProgress, Action::kFail, S::kFailed},      {S::kFailed, Action::kRetry, S::kApproved},
      {S::kPending, Action::kDeny, S::kDenied},         {S::kUnverified, Action::kDeny, S::kDenied},
      {S::kOnHold, Action::kDeny, S::kDenied},          {S::kApproved, Action::kCancel, S::kCancelled},
      {S::kPending, Action::kHold, S::kOnHold},         {S::kPending, Action::kExtend, S::kPending},
      {S::kInProgress, Action::kStart, S::kInProgress}, {S::kCompleted, Action::kNote, S::kCompleted},
      {S::kInProgress, Action::kCancel, S::kCancelled},  // admin only, checked by Workflow::Act
  };
  for (const auto& c : cases) {
    INFO(ToString(c.from) << " " << ToString(c.a));
    auto next = NextStatus(c.from, c.a);
    REQUIRE(next.ok());
    CHECK(*next == c.to);
  }
}

TEST_CASE("resume returns to the status the request was held from", "[state]") {
  CHECK(*NextStatus(S::kOnHold, Action::kResume, S::kApproved) == S::kApproved);
  CHECK(*NextStatus(S::kOnHold, Action::kResume, S::kUnverified) == S::kUnverified);
}

TEST_CASE("illegal transitions are conflicts naming the current status", "[state]") {
  struct Case {
    S from;
    Action a;
  };
  const Case cases[] = {
      {S::kDenied, Action::kApprove},   {S::kCompleted, Action::kCancel}, {S::kUnverified, Action::kApprove},
      {S::kFailed, Action::kCancel},    {S::kCancelled, Action::kResume}, {S::kCompleted, Action::kExtend},
      {S::kPending, Action::kComplete}, {S::kFailed, Action::kHold},      {S::kPending, Action::kResume},
  };
  for (const auto& c : cases) {
    auto next = NextStatus(c.from, c.a);
    REQUIRE_FALSE(next.ok());
    CHECK(next.status().code() == Code::kConflict);
    CHECK_THAT(next.status().message(), Catch::Contains("\"" + std::string(ToString(c.from)) + "\""));
  }
}

TEST_CASE("enum names round-trip", "[state]") {
  for (auto s : {S::kUnverified, S::kPending, S::kApproved, S::kInProgress, S::kCompleted, S::kFailed, S::kDenied,
                 S::kCancelled, S::kOnHold})
    CHECK(*ParseRequestStatus(ToString(s)) == s);
  CHECK_FALSE(ParseRequestType("delete").has_value());
  CHECK(*ParseRegulation("uk_gdpr") == Regulation::kUkGdpr);
  CHECK(*ParseAction("approve") == Action::kApprove);
}
