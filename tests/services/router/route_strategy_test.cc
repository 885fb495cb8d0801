// OrderCandidates: each strategy, fit filtering with reasons, and health
// tiers (slow and not-admissible candidates last). Random draws use a
// seeded engine so every run sees the same sequence.
#include "services/router/route_strategy.h"

#include <map>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/obs/metrics.h"

namespace sluice::router {
namespace {

using ::testing::ElementsAre;

sluice::v1::ModelSpec Spec(double input_usd, double output_usd,
                           int64_t context_window, bool tools = true) {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(input_usd);
  spec.set_output_usd_per_mtok(output_usd);
  spec.set_context_window(context_window);
  spec.set_supports_tools(tools);
  return spec;
}

Candidate Make(const std::string& provider, const std::string& model,
               const sluice::v1::ModelSpec* spec = nullptr, double weight = 1) {
  Candidate c;
  c.provider = provider;
  c.model = model;
  c.spec = spec;
  c.weight = weight;
  return c;
}

std::vector<std::string> Routes(const Ordering& ordering) {
  std::vector<std::string> routes;
  for (const Candidate& c : ordering.order) routes.push_back(c.route());
  return routes;
}

class RouteStrategyTest : public ::testing::Test {
 protected:
  HealthOptions Options() {
    HealthOptions options;
    options.failure_threshold = 1;
    options.p95_threshold = absl::Milliseconds(500);
    return options;
  }

  Ordering Order(sluice::v1::RouteStrategy strategy,
                 const std::vector<Candidate>& candidates,
                 const RequestNeeds& needs = {}) {
    return OrderCandidates(strategy, candidates, needs, health_, now_, rng_);
  }

  obs::MetricsRegistry registry_;
  HealthBoard health_{Options(), &registry_};
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  std::mt19937 rng_{42};
};

TEST_F(RouteStrategyTest, PriorityKeepsConfigOrder) {
  Ordering ordering = Order(sluice::v1::ROUTE_STRATEGY_PRIORITY,
                            {Make("a", "1"), Make("b", "2"), Make("c", "3")});
  EXPECT_THAT(Routes(ordering), ElementsAre("a/1", "b/2", "c/3"));
  EXPECT_TRUE(ordering.skipped.empty());
}

TEST_F(RouteStrategyTest, EstimatedCost) {
  sluice::v1::ModelSpec spec = Spec(2, 10, 0);
  Candidate c = Make("p", "m", &spec);
  RequestNeeds needs{.prompt_tokens = 1000, .max_output_tokens = 500};
  ASSERT_TRUE(EstimatedCostUsd(c, needs).has_value());
  EXPECT_DOUBLE_EQ(*EstimatedCostUsd(c, needs), (1000 * 2 + 500 * 10) / 1e6);
  needs.max_output_tokens = 0;  // unknown: 256 expected
  EXPECT_DOUBLE_EQ(*EstimatedCostUsd(c, needs), (1000 * 2 + 256 * 10) / 1e6);
  EXPECT_EQ(EstimatedCostUsd(Make("p", "m"), needs), std::nullopt);
}

TEST_F(RouteStrategyTest, CostPicksCheapestFittingAndSaysWhyOthersAreSkipped) {
  sluice::v1::ModelSpec pricey = Spec(10, 30, 128000);
  sluice::v1::ModelSpec cheap_small = Spec(0.1, 0.2, 8192);
  sluice::v1::ModelSpec cheap_no_tools = Spec(0.1, 0.2, 128000, false);
  sluice::v1::ModelSpec mid = Spec(1, 2, 128000);
  Ordering ordering = Order(
      sluice::v1::ROUTE_STRATEGY_COST,
      {Make("x", "unpriced"), Make("a", "pricey", &pricey),
       Make("sim", "m", &cheap_small), Make("x", "y", &cheap_no_tools),
       Make("b", "mid", &mid)},
      {.prompt_tokens = 8000, .max_output_tokens = 1000, .needs_tools = true});
  EXPECT_THAT(Routes(ordering), ElementsAre("b/mid", "a/pricey", "x/unpriced"));
  EXPECT_THAT(ordering.skipped,
              ElementsAre("sim/m: context window 8192 < 9000 tokens",
                          "x/y: no tool support"));
}

TEST_F(RouteStrategyTest, UnknownContextWindowNeverFilters) {
  sluice::v1::ModelSpec unknown = Spec(1, 1, 0);
  Ordering ordering =
      Order(sluice::v1::ROUTE_STRATEGY_PRIORITY, {Make("a", "1", &unknown)},
            {.prompt_tokens = 10'000'000});
  EXPECT_THAT(Routes(ordering), ElementsAre("a/1"));
}

TEST_F(RouteStrategyTest, LatencyWithTwoAlwaysPicksTheFaster) {
  health_.RecordSuccess("fast/m", absl::Milliseconds(50), now_);
  health_.RecordSuccess("slow/m", absl::Milliseconds(300), now_);
  std::vector<Candidate> candidates = {Make("slow", "m"), Make("fast", "m")};
  for (int i = 0; i < 1000; ++i) {
    Ordering ordering = Order(sluice::v1::ROUTE_STRATEGY_LATENCY, candidates);
    ASSERT_THAT(Routes(ordering), ElementsAre("fast/m", "slow/m")) << i;
  }
}

TEST_F(RouteStrategyTest, LatencyWithThreeNeverPutsTheSlowestFirst) {
  health_.RecordSuccess("a/m", absl::Milliseconds(50), now_);
  health_.RecordSuccess("b/m", absl::Milliseconds(100), now_);
  health_.RecordSuccess("c/m", absl::Milliseconds(300), now_);
  std::vector<Candidate> candidates = {Make("c", "m"), Make("b", "m"),
                                       Make("a", "m")};
  std::map<std::string, int> first;
  for (int i = 0; i < 1000; ++i) {
    Ordering ordering = Order(sluice::v1::ROUTE_STRATEGY_LATENCY, candidates);
    ASSERT_EQ(ordering.order.size(), 3u);
    ++first[ordering.order[0].route()];
    // The rest follow by EWMA.
    if (ordering.order[0].route() == "b/m") {
      ASSERT_THAT(Routes(ordering), ElementsAre("b/m", "a/m", "c/m"));
    } else {
      ASSERT_THAT(Routes(ordering), ElementsAre("a/m", "b/m", "c/m"));
    }
  }
  EXPECT_EQ(first["c/m"], 0);
  // a wins 2 of the 3 pairs, b one: about 2/3 and 1/3.
  EXPECT_NEAR(first["a/m"], 667, 60);
  EXPECT_NEAR(first["b/m"], 333, 60);
}

TEST_F(RouteStrategyTest, LatencyExploresCandidatesWithoutSamples) {
  health_.RecordSuccess("known/m", absl::Milliseconds(50), now_);
  Ordering ordering = Order(sluice::v1::ROUTE_STRATEGY_LATENCY,
                            {Make("known", "m"), Make("new", "m")});
  EXPECT_THAT(Routes(ordering), ElementsAre("new/m", "known/m"));
}

TEST_F(RouteStrategyTest, WeightedDrawsInProportionToWeights) {
  std::vector<Candidate> candidates = {Make("a", "m", nullptr, 1),
                                       Make("b", "m", nullptr, 3),
                                       Make("c", "m", nullptr, 6)};
  std::map<std::string, int> first;
  constexpr int kDraws = 10000;
  for (int i = 0; i < kDraws; ++i) {
    Ordering ordering = Order(sluice::v1::ROUTE_STRATEGY_WEIGHTED, candidates);
    ASSERT_EQ(ordering.order.size(), 3u);
    ++first[ordering.order[0].route()];
    // The rest by weight, descending.
    std::vector<std::string> rest = {ordering.order[1].route(),
                                     ordering.order[2].route()};
    std::vector<std::string> expected;
    for (const char* r : {"c/m", "b/m", "a/m"}) {
      if (r != ordering.order[0].route()) expected.push_back(r);
    }
    ASSERT_EQ(rest, expected);
  }
  EXPECT_NEAR(first["a/m"] / double{kDraws}, 0.1, 0.02);
  EXPECT_NEAR(first["b/m"] / double{kDraws}, 0.3, 0.02);
  EXPECT_NEAR(first["c/m"] / double{kDraws}, 0.6, 0.02);
}

TEST_F(RouteStrategyTest, WeightedZeroCountsAsOne) {
  std::vector<Candidate> candidates = {Make("a", "m", nullptr, 0),
                                       Make("b", "m", nullptr, 1)};
  int a_first = 0;
  constexpr int kDraws = 10000;
  for (int i = 0; i < kDraws; ++i) {
    Ordering ordering = Order(sluice::v1::ROUTE_STRATEGY_WEIGHTED, candidates);
    if (ordering.order[0].route() == "a/m") ++a_first;
  }
  EXPECT_NEAR(a_first / double{kDraws}, 0.5, 0.02);
}

TEST_F(RouteStrategyTest, OpenRestingAndSlowCandidatesMoveToTheBack) {
  // failure_threshold is 1: one failure opens.
  health_.RecordFailure("open/m", now_);
  health_.Rest("resting/m", now_ + absl::Seconds(10));
  for (int i = 0; i < 5; ++i) {
    health_.RecordSuccess("slow/m", absl::Seconds(2), now_);
  }
  ASSERT_TRUE(health_.Slow("slow/m", now_));
  Ordering ordering =
      Order(sluice::v1::ROUTE_STRATEGY_PRIORITY,
            {Make("open", "m"), Make("slow", "m"), Make("ok1", "m"),
             Make("resting", "m"), Make("ok2", "m")});
  EXPECT_THAT(Routes(ordering),
              ElementsAre("ok1/m", "ok2/m", "slow/m", "open/m", "resting/m"));
  // Ordering reads health only: the open circuit's cooldown has not been
  // consumed, and after it a probe is still available to the executor.
  absl::Time later = now_ + absl::Seconds(30);
  Order(sluice::v1::ROUTE_STRATEGY_PRIORITY, {Make("open", "m")});
  EXPECT_TRUE(health_.Admit("open/m", later));
}

TEST_F(RouteStrategyTest, HalfOpenCandidateWithProbeOutMovesBack) {
  health_.RecordFailure("h/m", now_);
  absl::Time later = now_ + absl::Seconds(30);
  Ordering before = OrderCandidates(sluice::v1::ROUTE_STRATEGY_PRIORITY,
                                    {Make("h", "m"), Make("ok", "m")}, {},
                                    health_, later, rng_);
  // Cooldown over: the probe is available, so it keeps its place.
  EXPECT_THAT(Routes(before), ElementsAre("h/m", "ok/m"));
  ASSERT_TRUE(health_.Admit("h/m", later));  // probe taken
  Ordering after = OrderCandidates(sluice::v1::ROUTE_STRATEGY_PRIORITY,
                                   {Make("h", "m"), Make("ok", "m")}, {},
                                   health_, later, rng_);
  EXPECT_THAT(Routes(after), ElementsAre("ok/m", "h/m"));
}

}  // namespace
}  // namespace sluice::router
