// RequestRecord: the overhead stamp of SetDecision, finish hooks, and the
// one usage event of each request (finished, finished twice, or abandoned).
#include "services/ingress/request_record.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/status/errors.h"
#include "sluice/v1/chat.pb.h"
#include "services/ingress/request_admission.h"
#include "tests/services/ingress/collecting_reporter.h"

namespace sluice::ingress {
namespace {

// Spins until `d` has passed since `since` (a condition, not a guess).
void WaitUntilPassed(absl::Time since, absl::Duration d) {
  while (absl::Now() - since < d) {
  }
}

TEST(RequestRecordTest, SetDecisionStampsTimeInSluiceLessUpstreamTime) {
  CollectingReporter reporter;
  const absl::Time before = absl::Now();
  RequestRecord record(&reporter, "req-1", false);
  const absl::Time constructed = absl::Now();
  WaitUntilPassed(constructed, absl::Milliseconds(30));
  sluice::v1::RouteDecision decision;
  decision.set_upstream_us(20'000);
  decision.set_price_micro_usd(42);
  const absl::Time deciding = absl::Now();
  std::string text = record.SetDecision(decision);
  const absl::Time after = absl::Now();

  // Elapsed lies within [deciding - constructed, after - before].
  const int64_t overhead_us = record.event().overhead_us();
  EXPECT_GE(overhead_us,
            absl::ToInt64Microseconds(deciding - constructed) - 20'000);
  EXPECT_LE(overhead_us, absl::ToInt64Microseconds(after - before) - 20'000);
  EXPECT_GE(overhead_us, 10'000);
  // The decision is kept for the event.
  EXPECT_EQ(record.event().decision().upstream_us(), 20'000);
  EXPECT_EQ(record.event().decision().price_micro_usd(), 42);
  // The same overhead in milliseconds, three decimals.
  ASSERT_EQ(text.size() - text.find('.'), 4u) << text;
  const double text_us = std::strtod(text.c_str(), nullptr) * 1000;
  EXPECT_NEAR(text_us, static_cast<double>(overhead_us), 1.0) << text;
}

TEST(RequestRecordTest, OverheadIsNeverNegative) {
  CollectingReporter reporter;
  RequestRecord record(&reporter, "req-1", false);
  sluice::v1::RouteDecision decision;
  // More upstream time than has passed (clocks of two hosts disagree).
  decision.set_upstream_us(3'600'000'000);
  EXPECT_EQ(record.SetDecision(decision), "0.000");
  EXPECT_EQ(record.event().overhead_us(), 0);
}

TEST(RequestRecordTest, WithoutUpstreamTimeOverheadIsElapsed) {
  CollectingReporter reporter;
  RequestRecord record(&reporter, "req-1", false);
  const absl::Time constructed = absl::Now();
  WaitUntilPassed(constructed, absl::Milliseconds(5));
  record.SetDecision(sluice::v1::RouteDecision{});
  EXPECT_GE(record.event().overhead_us(), 5'000);
}

TEST(RequestRecordTest, FinishReportsOneEventWithTheOutcome) {
  CollectingReporter reporter;
  RequestRecord record(&reporter, "req-7", true);
  record.event().set_tenant("acme");
  record.event().mutable_usage()->set_prompt_tokens(10);
  record.event().mutable_usage()->set_completion_tokens(5);
  record.SetRoute("sim/model-a");
  record.Finish(200);

  std::vector<sluice::v1::UsageEvent> events = reporter.events();
  ASSERT_EQ(events.size(), 1u);
  // Sluice's own id keys the event; the client's is kept beside it.
  EXPECT_EQ(events[0].request_id(), record.request_id());
  EXPECT_TRUE(absl::StartsWith(events[0].request_id(), "req_"));
  EXPECT_EQ(events[0].client_request_id(), "req-7");
  EXPECT_TRUE(events[0].stream());
  EXPECT_EQ(events[0].tenant(), "acme");
  EXPECT_EQ(events[0].status(), 200);
  EXPECT_EQ(events[0].provider(), "sim");
  EXPECT_EQ(events[0].upstream_model(), "model-a");
  EXPECT_EQ(events[0].usage().total_tokens(), 15);
  EXPECT_GT(events[0].time().seconds(), 0);
}

TEST(RequestRecordTest, FinishFailedReportsTheErrorItReturns) {
  CollectingReporter reporter;
  RequestRecord record(&reporter, "req-8", false);
  bool hook_ran = false;
  record.OnFinish([&](const sluice::v1::UsageEvent&) { hook_ran = true; });
  const sluice::v1::Error error =
      record.FinishFailed(status::RateLimited("slow down", absl::Seconds(2)));
  EXPECT_EQ(error.http_status(), 429);
  EXPECT_EQ(error.type(), "rate_limit_error");
  EXPECT_TRUE(hook_ran);  // settled before the caller writes the error
  std::vector<sluice::v1::UsageEvent> events = reporter.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status(), 429);
  EXPECT_EQ(events[0].error_type(), "rate_limit_error");
}

TEST(RequestRecordTest, RequestIdHeadersAreSluicesAndTheClients) {
  CollectingReporter reporter;
  RequestRecord record(&reporter, "req-9", false);
  ASSERT_GE(record.headers().size(), 2u);
  EXPECT_EQ(record.headers()[0].first, "x-request-id");
  EXPECT_EQ(record.headers()[0].second, record.request_id());
  EXPECT_EQ(record.headers()[1].first, "x-client-request-id");
  EXPECT_EQ(record.headers()[1].second, "req-9");
}

TEST(RequestRecordTest, EveryRecordGetsItsOwnIdWhateverTheClientSent) {
  CollectingReporter reporter;
  RequestRecord first(&reporter, "same", false);
  RequestRecord second(&reporter, "same", false);
  RequestRecord anonymous(&reporter, "", false);
  EXPECT_NE(first.request_id(), second.request_id());
  EXPECT_FALSE(anonymous.request_id().empty());
  EXPECT_TRUE(anonymous.client_request_id().empty());
  for (const auto& [name, value] : anonymous.headers()) {
    EXPECT_NE(name, "x-client-request-id");
  }
}

TEST(RequestRecordTest, ClientRequestIdPrefersTheOpenAiHeaderAndDropsOddOnes) {
  EXPECT_EQ(ClientRequestId("mine-1", "other"), "mine-1");
  EXPECT_EQ(ClientRequestId("", "other.2"), "other.2");
  EXPECT_EQ(ClientRequestId("has space", "ok_3"), "ok_3");
  EXPECT_EQ(ClientRequestId("", "new\nline"), "");
  EXPECT_EQ(ClientRequestId(std::string(129, 'a'), ""), "");
}

TEST(RequestRecordTest, FinishingTwiceReportsOnce) {
  CollectingReporter reporter;
  {
    RequestRecord record(&reporter, "req-1", false);
    record.Finish(200);
    record.Finish(500, "server_error");
  }  // and the destructor adds nothing
  std::vector<sluice::v1::UsageEvent> events = reporter.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status(), 200);
  EXPECT_TRUE(events[0].error_type().empty());
}

TEST(RequestRecordTest, AbandonedRecordReports499FromItsDestructor) {
  CollectingReporter reporter;
  { RequestRecord record(&reporter, "req-1", true); }
  std::vector<sluice::v1::UsageEvent> events = reporter.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status(), kClientClosedRequest);
  EXPECT_EQ(events[0].error_type(), "client_closed_request");
}

TEST(RequestRecordTest, FinishHooksRunExactlyOnceWithTheFinalEvent) {
  CollectingReporter reporter;
  std::vector<int> statuses_a, statuses_b;
  {
    RequestRecord record(&reporter, "req-1", false);
    record.OnFinish([&](const sluice::v1::UsageEvent& event) {
      statuses_a.push_back(event.status());
    });
    record.OnFinish([&](const sluice::v1::UsageEvent& event) {
      statuses_b.push_back(event.status());
      EXPECT_EQ(event.usage().total_tokens(), 3);
    });
    record.event().mutable_usage()->set_prompt_tokens(1);
    record.event().mutable_usage()->set_completion_tokens(2);
    EXPECT_TRUE(statuses_a.empty());
    record.Finish(201);
    record.Finish(202);
  }
  EXPECT_EQ(statuses_a, std::vector<int>{201});
  EXPECT_EQ(statuses_b, std::vector<int>{201});
}

TEST(RequestRecordTest, FinishHooksRunFromTheDestructor) {
  CollectingReporter reporter;
  int runs = 0;
  int status = 0;
  {
    auto record = std::make_shared<RequestRecord>(&reporter, "req-1", true);
    record->OnFinish([&](const sluice::v1::UsageEvent& event) {
      ++runs;
      status = event.status();
    });
  }
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(status, kClientClosedRequest);
  EXPECT_EQ(reporter.events().size(), 1u);
}

}  // namespace
}  // namespace sluice::ingress
