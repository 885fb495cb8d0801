// RateGate with the in-process limiter (no admission.redis): tenant and key
// limits, tokens reserved as the model's tokenizer counts the prompt (on a
// counting thread), budgets reserved from the spend estimate and settled
// to the price charged when the record finishes, and the x-ratelimit-*
// headers.
#include "services/ingress/rate_gate.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/tokenizer/chat_token_counter.h"
#include "libs/status/errors.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/request_record.h"
#include "sluice/v1/chat.pb.h"
#include "sluice/v1/config.pb.h"
#include "tests/services/ingress/collecting_reporter.h"

namespace sluice::ingress {
namespace {

// Model "m" costs $1 per million tokens in and out: a token is a
// micro-dollar.
sluice::v1::Config TestConfig() {
  sluice::v1::Config config;
  sluice::v1::ModelSpec* spec = config.add_models();
  spec->set_provider("sim");
  spec->set_model("m");
  spec->set_input_usd_per_mtok(1);
  spec->set_output_usd_per_mtok(1);
  sluice::v1::RouteConfig* route = config.add_routes();
  route->set_model("m");
  route->set_provider("sim");
  sluice::v1::TenantConfig* tenant = config.add_tenants();
  tenant->set_name("acme");
  tenant->mutable_limits()->set_rpm(2);
  tenant = config.add_tenants();
  tenant->set_name("tokens");
  tenant->mutable_limits()->set_tpm(100);
  tenant = config.add_tenants();
  tenant->set_name("capped");
  tenant->mutable_limits()->set_budget_usd(0.001);  // 1000 micro-USD
  config.add_tenants()->set_name("free");
  return config;
}

// A question and room for `max_tokens` more: PromptTokens() + max_tokens
// tokens, as many micro-USD on model "m".
sluice::v1::ChatRequest Request(int max_tokens,
                                const std::string& text = "What is a sluice?") {
  sluice::v1::ChatRequest request;
  request.set_model("m");
  sluice::v1::Message* message = request.add_messages();
  message->set_role("user");
  message->set_text(text);
  request.set_max_tokens(max_tokens);
  return request;
}

// The prompt's tokens as the default vocabulary and template count them
// (model "m" names neither), with the tokenizer itself.
int64_t PromptTokens(const sluice::v1::ChatRequest& request) {
  tokenizer::TokenCounter counter(tokenizer::DefaultVocabDir());
  absl::StatusOr<tokenizer::PromptCount> count =
      counter.CountPromptOnly(request, "", "");
  EXPECT_TRUE(count.ok()) << count.status();
  return count.ok() ? count->prompt_tokens : -1;
}

Caller TenantCaller(const std::string& tenant) {
  Caller caller;
  caller.tenant = tenant;
  caller.key_id = "0123456789ab";
  return caller;
}

Caller KeyCaller(int64_t budget_micro_usd) {
  Caller caller = TenantCaller("free");
  caller.key_id = "key_0123456789ab";
  caller.virtual_key = true;
  caller.policy.budget_micro_usd = budget_micro_usd;
  return caller;
}

std::optional<std::string> Header(RequestRecord& record,
                                  const std::string& name) {
  std::optional<std::string> value;
  for (const auto& [key, v] : record.headers()) {
    if (key == name) value = v;
  }
  return value;
}

class RateGateTest : public ::testing::Test {
 protected:
  void SetUp() override { StartGate(TestConfig()); }
  void StartGate(sluice::v1::Config config) {
    config_ = std::move(config);
    absl::StatusOr<std::unique_ptr<RateGate>> gate = RateGate::Create(config_);
    ASSERT_TRUE(gate.ok()) << gate.status();
    gate_ = *std::move(gate);
  }
  // Records settle into the gate's limiter: finish them before it goes.
  void TearDown() override { records_.clear(); }

  RequestRecordPtr NewRecord() {
    records_.push_back(std::make_shared<RequestRecord>(
        &reporter_, absl::StrCat("req-", records_.size()), false));
    return records_.back();
  }

  // Waits for the answer: a caller with a token limit or a budget is
  // counted on a counting thread first.
  absl::Status Admit(const RequestRecordPtr& record, const Caller& caller,
                     const sluice::v1::ChatRequest& request) {
    absl::Notification done;
    absl::Status result = absl::InternalError("next was not called");
    gate_->Admit(record, caller, request, [&](absl::Status status) {
      EXPECT_FALSE(done.HasBeenNotified()) << "next called twice";
      result = std::move(status);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return result;
  }

  sluice::v1::Config config_;  // the gate's routes point into it
  CollectingReporter reporter_;
  std::unique_ptr<RateGate> gate_;
  std::vector<RequestRecordPtr> records_;
};

TEST_F(RateGateTest, TenantRpmDeniesTheThirdRequest) {
  const Caller caller = TenantCaller("acme");
  RequestRecordPtr first = NewRecord();
  EXPECT_TRUE(Admit(first, caller, Request(10)).ok());
  EXPECT_EQ(Header(*first, "x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(Header(*first, "x-ratelimit-remaining-requests"), "1");
  EXPECT_TRUE(Header(*first, "x-ratelimit-reset-requests").has_value());
  // No token limit, no token headers.
  EXPECT_FALSE(Header(*first, "x-ratelimit-limit-tokens").has_value());

  RequestRecordPtr second = NewRecord();
  EXPECT_TRUE(Admit(second, caller, Request(10)).ok());
  EXPECT_EQ(Header(*second, "x-ratelimit-remaining-requests"), "0");

  RequestRecordPtr third = NewRecord();
  absl::Status denied = Admit(third, caller, Request(10));
  ASSERT_EQ(denied.code(), absl::StatusCode::kResourceExhausted) << denied;
  sluice::v1::Error error = status::ErrorFromStatus(denied);
  EXPECT_EQ(error.http_status(), 429);
  EXPECT_EQ(error.type(), "rate_limit_error");
  EXPECT_EQ(error.code(), "rate_limit_exceeded");
  EXPECT_NE(denied.message().find("tenant:acme"), absl::string_view::npos)
      << denied;
  std::optional<absl::Duration> retry_after = status::RetryAfterOf(denied);
  ASSERT_TRUE(retry_after.has_value());
  EXPECT_GT(*retry_after, absl::ZeroDuration());
  // The sliding window is two fixed windows, the previous one weighted: the
  // wait may pass the window's end (e.g. 60s - 22s + 30s), never two.
  EXPECT_LT(*retry_after, absl::Minutes(2));
  // A refusal carries the headers too.
  EXPECT_EQ(Header(*third, "x-ratelimit-remaining-requests"), "0");
}

TEST_F(RateGateTest, TenantTpmCountsPromptAndCompletionAllowance) {
  const Caller caller = TenantCaller("tokens");
  const int64_t prompt = PromptTokens(Request(0));
  ASSERT_GT(prompt, 5);
  ASSERT_LT(prompt, 40);
  const int max_tokens = static_cast<int>(60 - prompt);  // 60 tokens
  RequestRecordPtr first = NewRecord();
  EXPECT_TRUE(Admit(first, caller, Request(max_tokens)).ok());
  EXPECT_EQ(Header(*first, "x-ratelimit-limit-tokens"), "100");
  EXPECT_EQ(Header(*first, "x-ratelimit-remaining-tokens"), "40");
  absl::Status denied = Admit(NewRecord(), caller, Request(max_tokens));
  EXPECT_EQ(status::ErrorFromStatus(denied).code(), "rate_limit_exceeded")
      << denied;
  EXPECT_NE(denied.message().find("tokens per minute"), absl::string_view::npos)
      << denied;
}

TEST_F(RateGateTest, KeyBudgetDeniesWithInsufficientQuota) {
  const Caller caller = KeyCaller(1000);
  const int prompt = static_cast<int>(PromptTokens(Request(0)));
  // Each reserves 400 micro-USD: two fit, the third would not.
  EXPECT_TRUE(Admit(NewRecord(), caller, Request(400 - prompt)).ok());
  EXPECT_TRUE(Admit(NewRecord(), caller, Request(400 - prompt)).ok());
  absl::Status denied = Admit(NewRecord(), caller, Request(400 - prompt));
  ASSERT_EQ(denied.code(), absl::StatusCode::kResourceExhausted) << denied;
  sluice::v1::Error error = status::ErrorFromStatus(denied);
  EXPECT_EQ(error.code(), "insufficient_quota");
  EXPECT_EQ(error.http_status(), 429);
  EXPECT_NE(denied.message().find("key:key_0123456789ab"),
            absl::string_view::npos)
      << denied;
  // A smaller ask still fits in what is left (200).
  EXPECT_TRUE(Admit(NewRecord(), caller, Request(200 - prompt)).ok());
}

TEST_F(RateGateTest, SettleGivesTheUnusedEstimateBack) {
  const Caller caller = KeyCaller(1000);
  const int max_tokens = 400 - static_cast<int>(PromptTokens(Request(0)));
  RequestRecordPtr first = NewRecord();
  ASSERT_TRUE(Admit(first, caller, Request(max_tokens)).ok());
  ASSERT_TRUE(Admit(NewRecord(), caller, Request(max_tokens)).ok());
  ASSERT_FALSE(Admit(NewRecord(), caller, Request(max_tokens)).ok());

  // The first answer was cheap: 10 micro-USD charged instead of 400.
  first->event().mutable_usage()->set_prompt_tokens(4);
  first->event().mutable_usage()->set_completion_tokens(1);
  first->event().mutable_decision()->set_price_micro_usd(10);
  first->Finish(200);

  // 410 spent or held: another 400 fits, a further one does not.
  EXPECT_TRUE(Admit(NewRecord(), caller, Request(max_tokens)).ok());
  EXPECT_EQ(status::ErrorFromStatus(
                Admit(NewRecord(), caller, Request(max_tokens)))
                .code(),
            "insufficient_quota");
}

TEST_F(RateGateTest, TenantBudgetFromConfigInUsd) {
  const Caller caller = TenantCaller("capped");
  EXPECT_TRUE(Admit(NewRecord(), caller, Request(590)).ok());  // 600 odd
  absl::Status denied = Admit(NewRecord(), caller, Request(590));
  EXPECT_EQ(status::ErrorFromStatus(denied).code(), "insufficient_quota")
      << denied;
  EXPECT_NE(denied.message().find("tenant:capped"), absl::string_view::npos)
      << denied;
}

TEST_F(RateGateTest, UnknownModelIsReservedAtTheHighestPrice) {
  const Caller caller = KeyCaller(1000);
  sluice::v1::ChatRequest request = Request(390);
  request.set_model("not-routed");
  // The only catalog model prices the same: 400 odd micro-USD each.
  EXPECT_TRUE(Admit(NewRecord(), caller, request).ok());
  EXPECT_TRUE(Admit(NewRecord(), caller, request).ok());
  EXPECT_FALSE(Admit(NewRecord(), caller, request).ok());
}

TEST_F(RateGateTest, KeyAndTenantLimitsBothApply) {
  Caller caller = TenantCaller("acme");  // tenant rpm 2
  caller.key_id = "key_aaaaaaaaaaaa";
  caller.policy.rpm = 1;
  RequestRecordPtr first = NewRecord();
  EXPECT_TRUE(Admit(first, caller, Request(10)).ok());
  // The tightest limit is shown.
  EXPECT_EQ(Header(*first, "x-ratelimit-limit-requests"), "1");
  EXPECT_EQ(Header(*first, "x-ratelimit-remaining-requests"), "0");
  absl::Status denied = Admit(NewRecord(), caller, Request(10));
  EXPECT_NE(denied.message().find("key:key_aaaaaaaaaaaa"),
            absl::string_view::npos)
      << denied;
  // Another key of the tenant has its own rpm, but the tenant's still counts
  // the first request.
  Caller other = caller;
  other.key_id = "key_bbbbbbbbbbbb";
  EXPECT_TRUE(Admit(NewRecord(), other, Request(10)).ok());
  denied = Admit(NewRecord(), TenantCaller("acme"), Request(10));
  EXPECT_NE(denied.message().find("tenant:acme"), absl::string_view::npos)
      << denied;
}

TEST_F(RateGateTest, CallersWithoutLimitsPassWithoutHeaders) {
  const Caller caller = TenantCaller("free");
  for (int i = 0; i < 20; ++i) {
    RequestRecordPtr record = NewRecord();
    EXPECT_TRUE(Admit(record, caller, Request(100000)).ok());
    EXPECT_FALSE(Header(*record, "x-ratelimit-limit-requests").has_value());
    EXPECT_FALSE(Header(*record, "x-ratelimit-limit-tokens").has_value());
  }
}

// With no counting thread free (a queue of 0), the prompt's byte bound is
// reserved, the bound routing decides on then.
TEST_F(RateGateTest, BusyCountersReserveTheByteBound) {
  sluice::v1::Config config = TestConfig();
  config.mutable_router()->set_counting_queue(0);
  StartGate(std::move(config));
  const sluice::v1::ChatRequest request = Request(10);
  absl::StatusOr<int64_t> bound =
      tokenizer::TokenCounter::PromptTokenBound(request, "");
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_GT(*bound, PromptTokens(request));
  ASSERT_LE(*bound + 10, 100);
  RequestRecordPtr record = NewRecord();
  EXPECT_TRUE(Admit(record, TenantCaller("tokens"), request).ok());
  EXPECT_EQ(Header(*record, "x-ratelimit-remaining-tokens"),
            absl::StrCat(100 - *bound - 10));
}

TEST(EstimateTest, PromptByteBoundAndCompletionLimit) {
  sluice::v1::ChatRequest request = Request(0);
  EXPECT_EQ(PromptByteBound(request), 17 + 2);
  request.add_messages()->set_text("y");
  EXPECT_EQ(PromptByteBound(request), 18 + 2);
  request.set_max_tokens(30);
  EXPECT_EQ(CompletionLimit(request), 30);
  request.set_max_completion_tokens(70);
  EXPECT_EQ(CompletionLimit(request), 70);
  request.set_max_completion_tokens(-3);
  EXPECT_EQ(CompletionLimit(request), 0);
  EXPECT_EQ(CompletionLimit(sluice::v1::ChatRequest{}), 0);
}

}  // namespace
}  // namespace sluice::ingress
