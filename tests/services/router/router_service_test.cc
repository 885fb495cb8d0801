// The router against real simulators: retries that honour Retry-After,
// fallback on 5xx and slow first tokens, stalls cut at the stall limit,
// truncation flagged and escalated, circuit breakers, the cost and latency
// strategies, task classes, token counts and estimated usage.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/host/call_tracker.h"
#include "libs/obs/metrics.h"
#include "tests/services/router/router_fixture.h"

namespace sluice::router::testing {
namespace {

using ::testing::HasSubstr;

// Two OpenAI-compatible providers, one per simulator.
constexpr char kProviders[] = R"yaml(
providers:
  - name: a
    kind: openai
    base_url: http://127.0.0.1:A_PORT/v1
    timeouts: {connect: 2s, first_token: 2s, stall: 400ms, total: 20s}
  - name: b
    kind: openai
    base_url: http://127.0.0.1:B_PORT/v1
    timeouts: {connect: 2s, first_token: 2s, stall: 400ms, total: 20s}
)yaml";

std::string Config(const std::string& rest) {
  return absl::StrCat(kProviders, rest);
}

int64_t Requests(const sim::Simulator& sim) { return sim.stats().requests; }

std::string Text(const sluice::v1::ChatResponse& response) {
  return response.choices().empty() ? "" : response.choices(0).message().text();
}

TEST_F(RouterTest, RateLimitStormIsRetriedNoSoonerThanRetryAfter) {
  StartAll(Config(R"yaml(
routes:
  - {model: m, provider: a, upstream_model: deepseek-chat}
router:
  retry: {max_attempts: 4, base_backoff: 10ms}
)yaml"));
  QueueFaults(*sim_a_, "429", 3);  // Retry-After: 1 (the simulator's default)
  absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hello"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_FALSE(Text(*response).empty());
  EXPECT_EQ(response->decision().attempts(), 4);
  EXPECT_FALSE(response->decision().fell_back());  // retried, same candidate
  std::vector<sim::Arrival> arrivals = sim_a_->stats().arrivals;
  ASSERT_EQ(arrivals.size(), 4u);
  for (size_t i = 1; i < arrivals.size(); ++i) {
    EXPECT_GE(arrivals[i].ms - arrivals[i - 1].ms, 1000)
        << "attempt " << i << " came too soon";
  }
  EXPECT_EQ(arrivals.back().status, 200);
}

TEST_F(RouterTest, RateLimitLongerThanAllowedIsNotWaitedFor) {
  StartAll(Config(R"yaml(
routes:
  - {model: m, provider: a, upstream_model: deepseek-chat}
router:
  retry: {max_attempts: 4, max_retry_after: 500ms}
)yaml"));
  QueueFaults(*sim_a_, "429", 1);
  absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hello"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Requests(*sim_a_), 1);
}

// A call that waited to retry lets go of what its caller gave it once it
// has answered: the caller's context and callback, and with the callback
// the caller's ticket (as ingress's unary calls hold theirs), so that the
// caller's drain does not wait for a request that has ended.
TEST_F(RouterTest, CallThatRetriedLetsGoOfItsCallerOnceItHasAnswered) {
  StartAll(Config(R"yaml(
routes:
  - {model: m, provider: a, upstream_model: deepseek-chat}
router:
  retry: {max_attempts: 2, base_backoff: 10ms}
)yaml"));
  QueueFaults(*sim_a_, "500", 2);
  host::CallTracker callers;
  host::CallContextPtr context =
      host::CallContext::Create({absl::Now() + absl::Seconds(30), "retried"});
  std::weak_ptr<host::CallContext> weak_context = context;
  auto ticket =
      std::make_shared<host::CallTracker::Ticket>(callers.Enter(context));
  ASSERT_TRUE(*ticket);
  absl::Notification answered;
  absl::Status status;
  router_->Route(std::move(context), Ask("m", "hello"),
                 [&answered, &status, ticket = std::move(ticket)](
                     absl::StatusOr<sluice::v1::ChatResponse> answer) {
                   status = answer.status();
                   answered.Notify();
                 });
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(Requests(*sim_a_), 2);  // retried after a wait
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while ((callers.in_flight() > 0 || !weak_context.expired()) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(callers.in_flight(), 0u) << "the caller's ticket is still held";
  EXPECT_TRUE(weak_context.expired()) << "the caller's context is still held";
  host::CallTracker::Drained drained = callers.Drain(absl::Now());
  EXPECT_EQ(drained.cancelled, 0);
}

constexpr char kFallbackRoute[] = R"yaml(
routes:
  - model: m
    candidates:
      - {provider: a, model: deepseek-chat}
      - {provider: b, model: deepseek-chat}
)yaml";

TEST_F(RouterTest, ServerErrorFallsBackToTheNextCandidate) {
  StartAll(Config(kFallbackRoute));
  QueueFaults(*sim_a_, "500", 1);
  absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hello"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->route(), "b/deepseek-chat");
  EXPECT_EQ(response->decision().attempts(), 2);
  EXPECT_TRUE(response->decision().fell_back());
  EXPECT_THAT(response->decision().reason(), HasSubstr("a/deepseek-chat:server_error"));
  EXPECT_EQ(Requests(*sim_a_), 1);
  EXPECT_EQ(Requests(*sim_b_), 1);
}

TEST_F(RouterTest, StreamFallsBackBeforeTheFirstByteAndLooksClean) {
  StartAll(Config(kFallbackRoute));
  QueueFaults(*sim_a_, "503", 1);
  StreamResult failed_over = Stream(Ask("m", "tell me a story"));
  ASSERT_TRUE(failed_over.status.ok()) << failed_over.status.message();
  // The same question answered by b alone, for reference.
  StreamResult reference = Stream(Ask("m", "tell me a story"));
  ASSERT_TRUE(reference.status.ok());
  EXPECT_EQ(failed_over.text, reference.text);
  int role_chunks = 0;
  for (const auto& chunk : failed_over.chunks) {
    EXPECT_FALSE(chunk.has_error());
    for (const auto& choice : chunk.choices()) {
      if (choice.delta().role() == "assistant") ++role_chunks;
    }
  }
  EXPECT_EQ(role_chunks, 1);
  ASSERT_FALSE(failed_over.chunks.empty());
  EXPECT_EQ(failed_over.chunks.front().decision().attempts(), 2);
  EXPECT_EQ(failed_over.chunks.front().route(), "b/deepseek-chat");
  // The last chunk carries usage from b (not estimated).
  EXPECT_TRUE(failed_over.chunks.back().has_usage());
  EXPECT_FALSE(failed_over.chunks.back().usage().estimated());
}

TEST_F(RouterTest, SlowFirstTokenFallsBack) {
  sim::SimulatorOptions slow;
  slow.ttft = absl::Seconds(5);  // beyond a's first_token timeout of 2s
  StartAll(Config(kFallbackRoute), slow);
  absl::Time start = absl::Now();
  StreamResult result = Stream(Ask("m", "hello"));
  ASSERT_TRUE(result.status.ok()) << result.status.message();
  EXPECT_EQ(result.chunks.front().route(), "b/deepseek-chat");
  EXPECT_THAT(result.chunks.front().decision().reason(),
              HasSubstr("a/deepseek-chat:timeout"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(RouterTest, StallAfterTheFirstByteEndsWithAnErrorNotASilentStop) {
  StartAll(Config(kFallbackRoute));
  QueueFaults(*sim_a_, "stall", 1);  // two tokens, then nothing
  absl::Time start = absl::Now();
  StreamResult result = Stream(Ask("m", "tell me a story"));
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(result.status.code(), absl::StatusCode::kDeadlineExceeded)
      << result.status.message();
  EXPECT_THAT(result.status.message(), HasSubstr("stall"));
  EXPECT_GE(took, absl::Milliseconds(400));
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_FALSE(result.text.empty());
  // Content came from a only: after the first byte there is no fallback.
  EXPECT_EQ(Requests(*sim_b_), 0);
  ASSERT_GE(result.chunks.size(), 2u);
  const auto& finish = result.chunks[result.chunks.size() - 2];
  ASSERT_EQ(finish.choices_size(), 1);
  EXPECT_EQ(finish.choices(0).finish_reason(), "error");
  // a never sent usage: ours is counted with the tokenizer and says so,
  // kind by kind.
  const auto& usage = result.chunks.back();
  ASSERT_TRUE(usage.has_usage());
  EXPECT_TRUE(usage.usage().estimated());
  EXPECT_TRUE(usage.usage().prompt_tokens_estimated());
  EXPECT_TRUE(usage.usage().completion_tokens_estimated());
  EXPECT_TRUE(usage.usage().cached_tokens_estimated());
  EXPECT_TRUE(usage.usage().reasoning_tokens_estimated());
  EXPECT_GT(usage.usage().prompt_tokens(), 0);
  EXPECT_GT(usage.usage().completion_tokens(), 0);
}

// A provider whose usage has no token details (vLLM, llama-server): its
// counts stand, and the reasoning it relayed is counted by us and flagged.
TEST_F(RouterTest, ReasoningAProviderDoesNotReportIsCountedAndFlagged) {
  sim::SimulatorOptions plain;
  plain.usage_details = false;
  StartAll(Config(R"yaml(
models:
  - {provider: a, model: deepseek-reasoner, tokenizer: deepseek-llm}
  - {provider: b, model: deepseek-reasoner, tokenizer: deepseek-llm}
routes:
  - {model: r, provider: a, upstream_model: deepseek-reasoner}
  - {model: detailed, provider: b, upstream_model: deepseek-reasoner}
)yaml"),
           plain, {});
  auto check = [](const sluice::v1::Usage& usage) {
    EXPECT_GT(usage.prompt_tokens(), 0);
    EXPECT_FALSE(usage.prompt_tokens_estimated());
    EXPECT_FALSE(usage.completion_tokens_estimated());
    EXPECT_TRUE(usage.reasoning_tokens_estimated());
    EXPECT_TRUE(usage.estimated());
    EXPECT_GT(usage.reasoning_tokens(), 0);
    EXPECT_LT(usage.reasoning_tokens(), usage.completion_tokens());
  };
  absl::StatusOr<sluice::v1::ChatResponse> unary = Route(Ask("r", "why is the sky blue"));
  ASSERT_TRUE(unary.ok()) << unary.status();
  ASSERT_FALSE(unary->choices(0).message().reasoning_content().empty());
  check(unary->usage());
  StreamResult stream = Stream(Ask("r", "why is the sea blue"));
  ASSERT_TRUE(stream.status.ok()) << stream.status.message();
  ASSERT_TRUE(stream.chunks.back().has_usage());
  check(stream.chunks.back().usage());
  // With the details reported (b), nothing is ours.
  absl::StatusOr<sluice::v1::ChatResponse> detailed =
      Route(Ask("detailed", "why is the sky blue"));
  ASSERT_TRUE(detailed.ok()) << detailed.status();
  EXPECT_FALSE(detailed->usage().estimated());
  EXPECT_FALSE(detailed->usage().reasoning_tokens_estimated());
  EXPECT_GT(detailed->usage().reasoning_tokens(), 0);
}

TEST_F(RouterTest, StallBeforeAnyContentIsCutAndFallsBack) {
  StartAll(Config(kFallbackRoute));
  QueueFaults(*sim_a_, "stall", 1, /*after=*/0);  // the role chunk, then nothing
  absl::Time start = absl::Now();
  StreamResult result = Stream(Ask("m", "tell me a story"));
  ASSERT_TRUE(result.status.ok()) << result.status.message();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(400));  // a's stall limit
  EXPECT_EQ(result.chunks.front().route(), "b/deepseek-chat");
  EXPECT_THAT(result.chunks.front().decision().reason(),
              HasSubstr("a/deepseek-chat:timeout"));
  StreamResult reference = Stream(Ask("m", "tell me a story"));
  EXPECT_EQ(result.text, reference.text);
}

TEST_F(RouterTest, MalformedStreamBeforeContentFallsBack) {
  StartAll(Config(kFallbackRoute));
  QueueFaults(*sim_a_, "malformed", 1, /*after=*/0);
  StreamResult result = Stream(Ask("m", "hello"));
  ASSERT_TRUE(result.status.ok()) << result.status.message();
  EXPECT_EQ(result.chunks.front().route(), "b/deepseek-chat");
  EXPECT_THAT(result.chunks.front().decision().reason(),
              HasSubstr("a/deepseek-chat:server_error"));
}

TEST_F(RouterTest, TruncationIsFlagged) {
  StartAll(Config(kFallbackRoute));
  QueueFaults(*sim_a_, "truncate", 1);
  absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hello"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->choices(0).finish_reason(), "length");
  EXPECT_TRUE(response->decision().truncated());
  EXPECT_EQ(Requests(*sim_b_), 0);

  QueueFaults(*sim_a_, "truncate", 1);
  StreamResult stream = Stream(Ask("m", "hello"));
  ASSERT_TRUE(stream.status.ok());
  EXPECT_TRUE(stream.chunks.back().decision().truncated());
}

TEST_F(RouterTest, TruncationEscalatesToALargerModelWhenThePolicySaysSo) {
  StartAll(Config(R"yaml(
models:
  - {provider: a, model: deepseek-chat, context_window: 8192}
  - {provider: b, model: deepseek-chat, context_window: 131072}
routes:
  - model: m
    on_truncation: escalate
    candidates:
      - {provider: a, model: deepseek-chat}
      - {provider: b, model: deepseek-chat}
)yaml"));
  QueueFaults(*sim_a_, "truncate", 1);
  absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hello"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->route(), "b/deepseek-chat");
  EXPECT_EQ(response->choices(0).finish_reason(), "stop");
  EXPECT_THAT(response->decision().reason(), HasSubstr("truncated escalate"));
}

double CircuitGauge(const std::string& provider) {
  std::string text = obs::MetricsRegistry::Default().RenderPrometheusText();
  std::string series = absl::StrCat("sluice_provider_circuit_state{model=\"deepseek-chat\",provider=\"",
                                    provider, "\"} ");
  size_t at = text.find(series);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size()));
}

TEST_F(RouterTest, CircuitOpensStaysOpenAndHalfOpensAfterTheCooldown) {
  StartAll(Config(absl::StrCat(kFallbackRoute, R"yaml(
router:
  circuit_breaker: {failure_threshold: 3, window: 30s, cooldown: 1s}
)yaml")));
  QueueFaults(*sim_a_, "500", 3);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hi"));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->route(), "b/deepseek-chat");
  }
  EXPECT_EQ(Requests(*sim_a_), 3);
  EXPECT_EQ(CircuitGauge("a"), 2);  // open
  absl::Time opened = absl::Now();
  // While open, nothing goes to a.
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hi"));
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->route(), "b/deepseek-chat");
  }
  EXPECT_EQ(Requests(*sim_a_), 3);
  // Once the cooldown has passed (not before), one probe goes to a; it
  // succeeds and closes the circuit. Asked until then, with a deadline.
  std::string served;
  absl::Time probed;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (served != "a/deepseek-chat" && absl::Now() < deadline) {
    absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hi"));
    ASSERT_TRUE(response.ok()) << response.status();
    served = response->route();
    probed = absl::Now();
    if (served != "a/deepseek-chat") absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(served, "a/deepseek-chat") << "no probe after the cooldown";
  // (opened was read just after the circuit opened.)
  EXPECT_GE(probed - opened, absl::Milliseconds(900));
  EXPECT_EQ(Requests(*sim_a_), 4);
  EXPECT_EQ(CircuitGauge("a"), 0);  // closed
}

TEST_F(RouterTest, CostPicksTheCheapestCandidateThatFits) {
  StartAll(Config(R"yaml(
models:
  - {provider: a, model: deepseek-chat, input_usd_per_mtok: 2.5, output_usd_per_mtok: 10, context_window: 128000, tokenizer: llama-bpe}
  - {provider: b, model: deepseek-chat, input_usd_per_mtok: 0.27, output_usd_per_mtok: 1.1, context_window: 200, tokenizer: llama-bpe}
routes:
  - model: m
    strategy: cost
    candidates:
      - {provider: a, model: deepseek-chat}
      - {provider: b, model: deepseek-chat}
)yaml"));
  absl::StatusOr<sluice::v1::ChatResponse> cheap = Route(Ask("m", "hello"));
  ASSERT_TRUE(cheap.ok()) << cheap.status();
  EXPECT_EQ(cheap->route(), "b/deepseek-chat");
  EXPECT_EQ(cheap->decision().strategy(), "cost");
  // Too long for b's 200-token window: a serves it, and the reason says why.
  std::string long_question;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&long_question, "word", i, " ");
  absl::StatusOr<sluice::v1::ChatResponse> fits = Route(Ask("m", long_question));
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(fits->route(), "a/deepseek-chat");
  EXPECT_THAT(fits->decision().reason(), HasSubstr("context window 200"));
  EXPECT_GT(fits->decision().prompt_tokens_estimate(), 200);
}

TEST_F(RouterTest, DecisionCarriesTheUpstreamCostAndThePrice) {
  StartAll(Config(R"yaml(
models:
  - {provider: a, model: deepseek-chat, input_usd_per_mtok: 0.28, output_usd_per_mtok: 0.42}
routes:
  - {model: m, provider: a, upstream_model: deepseek-chat}
)yaml"));
  absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hello there"));
  ASSERT_TRUE(response.ok()) << response.status();
  const sluice::v1::Usage& usage = response->usage();
  ASSERT_GT(usage.completion_tokens(), 0);
  int64_t expected = std::llround(
      static_cast<double>(usage.prompt_tokens() - usage.cached_tokens()) * 0.28 +
      static_cast<double>(usage.completion_tokens()) * 0.42);
  EXPECT_EQ(response->decision().upstream_cost_micro_usd(), expected);
  EXPECT_EQ(response->decision().price_micro_usd(), expected);
  StreamResult stream = Stream(Ask("m", "hello again"));
  ASSERT_TRUE(stream.status.ok());
  const sluice::v1::ChatChunk& last = stream.chunks.back();
  ASSERT_TRUE(last.has_usage());
  EXPECT_GT(last.decision().upstream_cost_micro_usd(), 0);
}

// A short prompt is routed on a bound of its tokens (no tokenizer pass);
// one whose bound reaches a decision's threshold is counted exactly, and a
// candidate the bound would not fit is judged by the exact count.
TEST_F(RouterTest, TokensAreCountedOnlyWhenADecisionNeedsThem) {
  StartAll(Config(R"yaml(
models:
  - {provider: a, model: small, context_window: 600, tokenizer: llama-bpe}
  - {provider: b, model: large, context_window: 100000, tokenizer: llama-bpe}
routes:
  - model: m
    candidates: [{provider: a, model: small}, {provider: b, model: large}]
router:
  long_context_tokens: 2000
)yaml"));
  absl::StatusOr<sluice::v1::ChatResponse> short_one = Route(Ask("m", "hi there"));
  ASSERT_TRUE(short_one.ok()) << short_one.status();
  EXPECT_FALSE(short_one->decision().prompt_tokens_exact());
  EXPECT_GT(short_one->decision().prompt_tokens_estimate(), 2);
  EXPECT_EQ(short_one->route(), "a/small");

  // ~500 words: the byte bound (~3000) passes 600 and 2000, the real count
  // (~500 tokens) fits the small model and is no long context.
  std::string words;
  for (int i = 0; i < 500; ++i) words += "word ";
  absl::StatusOr<sluice::v1::ChatResponse> counted = Route(Ask("m", words));
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_TRUE(counted->decision().prompt_tokens_exact());
  EXPECT_LT(counted->decision().prompt_tokens_estimate(), 600);
  EXPECT_EQ(counted->decision().task(), "simple_qa");
  EXPECT_EQ(counted->route(), "a/small");

  // ~2500 real tokens: long context, and too big for the small model.
  std::string more;
  for (int i = 0; i < 2500; ++i) more += "word ";
  absl::StatusOr<sluice::v1::ChatResponse> long_one = Route(Ask("m", more));
  ASSERT_TRUE(long_one.ok()) << long_one.status();
  EXPECT_TRUE(long_one->decision().prompt_tokens_exact());
  EXPECT_EQ(long_one->decision().task(), "long_context");
  EXPECT_EQ(long_one->route(), "b/large");
}

sluice::v1::TokenCountRequest CountRequest(sluice::v1::ChatRequest chat) {
  sluice::v1::TokenCountRequest request;
  *request.mutable_request() = std::move(chat);
  return request;
}

// A prompt whose lower bound (bytes over the vocabulary's longest token)
// passes the long-context threshold is long context whatever its count:
// routed without counting.
TEST_F(RouterTest, TheLowerBoundDecidesWithoutCounting) {
  StartAll(Config(R"yaml(
models:
  - {provider: a, model: small, tokenizer: llama-bpe}
routes:
  - {model: m, provider: a, upstream_model: small}
router:
  long_context_tokens: 20
)yaml"));
  std::string words;
  for (int i = 0; i < 2000; ++i) words += "word ";  // 10 KB
  absl::StatusOr<sluice::v1::ChatResponse> answer = Route(Ask("m", words));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->decision().task(), "long_context");
  EXPECT_FALSE(answer->decision().prompt_tokens_exact());
  // The reported figure is the upper bound: at least the real count.
  absl::StatusOr<sluice::v1::TokenCountResponse> counted =
      CountTokens(CountRequest(Ask("m", words)));
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_GE(answer->decision().prompt_tokens_estimate(),
            counted->prompt_tokens());
}

// With no counting thread to wait for (a queue of 0), a decision the
// bounds leave open is made on the upper bound instead of blocking: the
// prompt that counted as fitting the small model above goes to the large
// one, and says its count was a bound.
TEST_F(RouterTest, BusyCountersDegradeToTheBound) {
  StartAll(Config(R"yaml(
models:
  - {provider: a, model: small, context_window: 600, tokenizer: llama-bpe}
  - {provider: b, model: large, context_window: 100000, tokenizer: llama-bpe}
routes:
  - model: m
    candidates: [{provider: a, model: small}, {provider: b, model: large}]
router:
  long_context_tokens: 2000
  counting_queue: 0
)yaml"));
  std::string words;
  for (int i = 0; i < 500; ++i) words += "word ";
  absl::StatusOr<sluice::v1::ChatResponse> answer = Route(Ask("m", words));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_FALSE(answer->decision().prompt_tokens_exact());
  EXPECT_GT(answer->decision().prompt_tokens_estimate(), 2000);
  EXPECT_EQ(answer->decision().task(), "long_context");
  EXPECT_EQ(answer->route(), "b/large");
  // /v1/token-count has no cheaper answer: it says to retry.
  absl::StatusOr<sluice::v1::TokenCountResponse> counted =
      CountTokens(CountRequest(Ask("m", words)));
  EXPECT_EQ(counted.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RouterTest, LatencyStrategyMovesTrafficToTheFasterProvider) {
  sim::SimulatorOptions slow;
  slow.ttft = absl::Milliseconds(60);
  StartAll(Config(R"yaml(
routes:
  - model: m
    strategy: latency
    candidates:
      - {provider: a, model: deepseek-chat}
      - {provider: b, model: deepseek-chat}
)yaml"),
           slow);
  int on_b_late = 0;
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hi"));
    ASSERT_TRUE(response.ok()) << response.status();
    if (i >= 10 && response->route() == "b/deepseek-chat") ++on_b_late;
  }
  // Both were tried, and once each has a latency the faster one wins.
  EXPECT_GE(Requests(*sim_a_), 1);
  EXPECT_EQ(on_b_late, 20);
}

TEST_F(RouterTest, TaskClassesPickTheirOwnCandidates) {
  StartAll(Config(R"yaml(
routes:
  - model: m
    provider: a
    upstream_model: deepseek-chat
    tasks:
      - task: code_generation
        candidates: [{provider: b, model: deepseek-coder}]
)yaml"));
  absl::StatusOr<sluice::v1::ChatResponse> plain = Route(Ask("m", "what is the capital of France?"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->route(), "a/deepseek-chat");
  EXPECT_EQ(plain->decision().task(), "simple_qa");
  absl::StatusOr<sluice::v1::ChatResponse> code =
      Route(Ask("m", "write a python function that reverses a list"));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(code->route(), "b/deepseek-coder");
  EXPECT_EQ(code->decision().task(), "code_generation");
  EXPECT_EQ(code->decision().task_reason(), "builtin:code");
  sluice::v1::ChatRequest named = Ask("m", "what is the capital of France?");
  named.mutable_context()->set_task("code_generation");
  absl::StatusOr<sluice::v1::ChatResponse> header = Route(named);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->route(), "b/deepseek-coder");
  EXPECT_EQ(header->decision().task_reason(), "header");
}

TEST_F(RouterTest, AliasesAndTenantRoutes) {
  StartAll(Config(R"yaml(
routes:
  - {model: m, provider: a, upstream_model: deepseek-chat}
  - {model: m, tenant: vip, provider: b, upstream_model: deepseek-chat}
router:
  aliases: [{alias: chat-default, model: m}]
)yaml"));
  absl::StatusOr<sluice::v1::ChatResponse> shared = Route(Ask("chat-default", "hi"));
  ASSERT_TRUE(shared.ok()) << shared.status();
  EXPECT_EQ(shared->route(), "a/deepseek-chat");
  absl::StatusOr<sluice::v1::ChatResponse> vip = Route(Ask("m", "hi", "vip"));
  ASSERT_TRUE(vip.ok());
  EXPECT_EQ(vip->route(), "b/deepseek-chat");
  EXPECT_EQ(Route(Ask("nope", "hi")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RouterTest, ProviderAuthFailureFallsBackWithoutRetryingTheSameKey) {
  sim::SimulatorOptions locked;
  locked.required_api_key = "sk-the-right-one";
  StartAll(Config(kFallbackRoute), locked);
  absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hi"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->route(), "b/deepseek-chat");
  EXPECT_EQ(Requests(*sim_a_), 1);
  EXPECT_THAT(response->decision().reason(), HasSubstr("provider_auth"));
}

TEST_F(RouterTest, WorkerThatCannotServeFallsBack) {
  StartAll(absl::StrCat(kProviders, R"yaml(
  - {name: local, kind: worker}
routes:
  - model: m
    candidates:
      - {provider: local, model: tiny}
      - {provider: a, model: deepseek-chat}
)yaml"));
  absl::StatusOr<sluice::v1::ChatResponse> response = Route(Ask("m", "hi"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->route(), "a/deepseek-chat");
  EXPECT_THAT(response->decision().reason(), HasSubstr("local/tiny:unsupported"));
  StreamResult stream = Stream(Ask("m", "hi"));
  ASSERT_TRUE(stream.status.ok()) << stream.status.message();
  EXPECT_EQ(stream.chunks.front().route(), "a/deepseek-chat");
}

TEST_F(RouterTest, CountsTokensWithTheModelsTokenizer) {
  StartAll(Config(R"yaml(
models:
  - {provider: a, model: deepseek-chat, tokenizer: qwen2, chat_template: chatml}
routes:
  - {model: m, provider: a, upstream_model: deepseek-chat}
)yaml"));
  sluice::v1::TokenCountRequest request;
  *request.mutable_request() = Ask("m", "Hello world");
  absl::StatusOr<sluice::v1::TokenCountResponse> response = CountTokens(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->tokenizer(), "qwen2");
  // chatml: <|im_start|>user\nHello world<|im_end|>\n<|im_start|>assistant\n
  EXPECT_GT(response->template_tokens(), 0);
  EXPECT_EQ(response->prompt_tokens() - response->template_tokens(), 2);
}

}  // namespace
}  // namespace sluice::router::testing
