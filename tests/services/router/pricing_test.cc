// Prices in micro-USD from per-million-token prices: exact for whole
// tokens, cached prompt tokens at their own price, cached answers charged
// the tenant's fraction and costing nothing upstream.
#include "services/router/pricing.h"

#include "gtest/gtest.h"

namespace sluice::router {
namespace {

sluice::v1::ModelSpec Spec() {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(0.28);
  spec.set_cached_input_usd_per_mtok(0.028);
  spec.set_output_usd_per_mtok(0.42);
  return spec;
}

sluice::v1::Usage Usage(int64_t prompt, int64_t cached, int64_t completion) {
  sluice::v1::Usage usage;
  usage.set_prompt_tokens(prompt);
  usage.set_cached_tokens(cached);
  usage.set_completion_tokens(completion);
  return usage;
}

TEST(PricingTest, ListPriceCountsEachKindOfToken) {
  sluice::v1::ModelSpec spec = Spec();
  // 1,000,000 uncached prompt tokens at $0.28/M = 280,000 micro-USD.
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000000, 0, 0)), 280000);
  // 1,000 prompt (400 cached) + 500 completion:
  // 600*0.28 + 400*0.028 + 500*0.42 = 168 + 11.2 + 210 = 389.2 → 389.
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000, 400, 500)), 389);
  // No cached price: cached tokens at the input price.
  spec.clear_cached_input_usd_per_mtok();
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000, 400, 500)), 490);
  EXPECT_EQ(ListPriceMicroUsd(nullptr, Usage(1000, 0, 500)), 0);
}

TEST(PricingTest, UpstreamCallsCostTheirListPrice) {
  sluice::v1::ModelSpec spec = Spec();
  sluice::v1::RouteDecision decision;
  decision.set_cache("miss");
  PriceDecision(&spec, Usage(1000000, 0, 1000000), 0.5, decision);
  EXPECT_EQ(decision.upstream_cost_micro_usd(), 700000);
  EXPECT_EQ(decision.price_micro_usd(), 700000);
}

TEST(PricingTest, CachedAnswersCostNothingUpstreamAndTheTenantsFraction) {
  sluice::v1::ModelSpec spec = Spec();
  for (const char* cache : {"hit", "shared"}) {
    sluice::v1::RouteDecision decision;
    decision.set_cache(cache);
    PriceDecision(&spec, Usage(1000000, 0, 1000000), 0.5, decision);
    EXPECT_EQ(decision.upstream_cost_micro_usd(), 0) << cache;
    EXPECT_EQ(decision.price_micro_usd(), 350000) << cache;
  }
  sluice::v1::RouteDecision free_hit;
  free_hit.set_cache("hit");
  PriceDecision(&spec, Usage(1000, 0, 1000), 0, free_hit);
  EXPECT_EQ(free_hit.price_micro_usd(), 0);
}

}  // namespace
}  // namespace sluice::router
