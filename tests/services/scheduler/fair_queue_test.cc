#include "services/scheduler/fair_queue.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace sluice::scheduler {
namespace {

struct Call {
  std::string tenant;
  int64_t prompt = 0;
  int64_t completion = 0;
};

// Serves `rounds` calls from a queue kept backlogged for every tenant in
// `weights`; returns the tokens each tenant got.
std::map<std::string, int64_t> ServeBacklogged(
    const std::map<std::string, double>& weights,
    const std::map<std::string, Call>& shape, int rounds) {
  FairQueue<Call> queue;
  for (const auto& [tenant, weight] : weights) {
    for (int i = 0; i < 4; ++i) queue.Push(tenant, weight, shape.at(tenant));
  }
  std::map<std::string, int64_t> served;
  for (int i = 0; i < rounds; ++i) {
    std::optional<Call> call = queue.Pop();
    EXPECT_TRUE(call.has_value());
    queue.Charge(call->tenant, call->prompt, call->completion);
    served[call->tenant] += call->prompt + 2 * call->completion;
    queue.Push(call->tenant, weights.at(call->tenant), *call);  // still backlogged
  }
  return served;
}

TEST(FairQueueTest, WeightsShareTokensNotRequests) {
  // Tenant a sends calls ten times as large as b's; b has three times the
  // weight: b must get three times a's tokens, not three times its calls.
  std::map<std::string, int64_t> served = ServeBacklogged(
      {{"a", 1.0}, {"b", 3.0}},
      {{"a", {"a", 1000, 500}}, {"b", {"b", 100, 50}}}, 4000);
  double ratio = static_cast<double>(served["b"]) / static_cast<double>(served["a"]);
  EXPECT_NEAR(ratio, 3.0, 0.3) << "a=" << served["a"] << " b=" << served["b"];
}

TEST(FairQueueTest, EqualWeightsEqualTokens) {
  std::map<std::string, int64_t> served = ServeBacklogged(
      {{"a", 1.0}, {"b", 1.0}, {"c", 1.0}},
      {{"a", {"a", 10, 10}}, {"b", {"b", 300, 0}}, {"c", {"c", 50, 400}}}, 3000);
  for (const char* tenant : {"b", "c"}) {
    double ratio = static_cast<double>(served[tenant]) / static_cast<double>(served["a"]);
    EXPECT_NEAR(ratio, 1.0, 0.1) << tenant;
  }
}

TEST(FairQueueTest, AReturningTenantCannotCashInIdleTime) {
  FairQueue<Call> queue;
  // a is served alone for a long time: its counter grows.
  for (int i = 0; i < 1000; ++i) {
    queue.Push("a", 1.0, {"a", 100, 0});
    std::optional<Call> call = queue.Pop();
    queue.Charge("a", call->prompt, 0);
  }
  // b, new (counter 0), arrives while a is backlogged: b is lifted to a's
  // counter, so they alternate instead of b taking the next thousand calls.
  for (int i = 0; i < 20; ++i) queue.Push("a", 1.0, {"a", 100, 0});
  for (int i = 0; i < 20; ++i) queue.Push("b", 1.0, {"b", 100, 0});
  int b_run = 0, longest_b_run = 0;
  for (int i = 0; i < 30; ++i) {
    std::optional<Call> call = queue.Pop();
    queue.Charge(call->tenant, call->prompt, 0);
    b_run = call->tenant == "b" ? b_run + 1 : 0;
    longest_b_run = std::max(longest_b_run, b_run);
  }
  EXPECT_LE(longest_b_run, 2);
}

TEST(FairQueueTest, OneTenantIsFirstInFirstOut) {
  FairQueue<int> queue;
  for (int i = 0; i < 5; ++i) queue.Push("a", 1.0, i);
  for (int i = 0; i < 5; ++i) {
    ASSERT_NE(queue.Peek(), nullptr);
    EXPECT_EQ(*queue.Peek(), i);
    EXPECT_EQ(queue.Pop(), i);
  }
  EXPECT_EQ(queue.Pop(), std::nullopt);
  EXPECT_TRUE(queue.empty());
}

TEST(FairQueueTest, RemoveIfDropsAndReportsOnlyTheSelected) {
  FairQueue<int> queue;
  for (int i = 0; i < 6; ++i) queue.Push(i % 2 ? "odd" : "even", 1.0, i);
  std::vector<int> dropped;
  queue.RemoveIf([](int v) { return v % 3 == 0; }, [&](int v) { dropped.push_back(v); });
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped, (std::vector<int>{0, 3}));
  EXPECT_EQ(queue.size(), 4u);
  std::vector<int> rest;
  while (auto v = queue.Pop()) rest.push_back(*v);
  std::sort(rest.begin(), rest.end());
  EXPECT_EQ(rest, (std::vector<int>{1, 2, 4, 5}));
}

}  // namespace
}  // namespace sluice::scheduler
