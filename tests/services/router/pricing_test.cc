// Prices in micro-USD from per-million-token prices: exact for whole
// tokens, cached prompt tokens at their own price, cached answers charged
// the tenant's fraction and costing nothing upstream, and the prices of
// the price window in force when the request was accepted.
#include "services/router/pricing.h"

#include <memory>

#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/obs/metrics.h"
#include "services/router/price_windows.h"
#include "services/router/router_core.h"

namespace sluice::router {
namespace {

sluice::v1::ModelSpec Spec() {
  sluice::v1::ModelSpec spec;
  spec.set_input_usd_per_mtok(0.28);
  spec.set_cached_input_usd_per_mtok(0.028);
  spec.set_output_usd_per_mtok(0.42);
  return spec;
}

// Spec() with DeepSeek's off-peak window: 16:30 to 00:30 UTC at half price.
sluice::v1::ModelSpec WindowedSpec() {
  sluice::v1::ModelSpec spec = Spec();
  spec.set_provider("deepseek");
  spec.set_model("deepseek-chat");
  sluice::v1::PriceWindow* off_peak = spec.add_price_windows();
  off_peak->set_start("16:30");
  off_peak->set_end("00:30");
  off_peak->set_input_usd_per_mtok(0.14);
  off_peak->set_cached_input_usd_per_mtok(0.014);
  off_peak->set_output_usd_per_mtok(0.21);
  return spec;
}

// 2025-03-10 at hh:mm UTC.
absl::Time At(int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(2025, 3, 10, hh, mm),
                         absl::UTCTimeZone());
}

// Any time will do for a spec without windows.
const absl::Time kNoon = At(12, 0);

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
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000000, 0, 0), kNoon), 280000);
  // 1,000 prompt (400 cached) + 500 completion:
  // 600*0.28 + 400*0.028 + 500*0.42 = 168 + 11.2 + 210 = 389.2 → 389.
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000, 400, 500), kNoon), 389);
  // No cached price: cached tokens at the input price.
  spec.clear_cached_input_usd_per_mtok();
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000, 400, 500), kNoon), 490);
  EXPECT_EQ(ListPriceMicroUsd(nullptr, Usage(1000, 0, 500), kNoon), 0);
}

TEST(PricingTest, ReasoningTokensAreCompletionTokensAtTheReasoningPrice) {
  sluice::v1::ModelSpec spec = Spec();
  sluice::v1::Usage usage = Usage(0, 0, 1000);
  usage.set_reasoning_tokens(600);
  // No reasoning price: all 1,000 completion tokens at $0.42/M = 420.
  EXPECT_EQ(ListPriceMicroUsd(&spec, usage, kNoon), 420);
  // 400 at $0.42 + 600 at $2.00 = 168 + 1,200.
  spec.set_reasoning_usd_per_mtok(2.0);
  EXPECT_EQ(ListPriceMicroUsd(&spec, usage, kNoon), 1368);
  // Never more reasoning tokens than completion tokens.
  usage.set_reasoning_tokens(5000);
  EXPECT_EQ(ListPriceMicroUsd(&spec, usage, kNoon), 2000);
  // A window's own reasoning price, or its output price when it has none.
  spec = WindowedSpec();
  spec.set_reasoning_usd_per_mtok(2.0);
  usage.set_reasoning_tokens(600);
  EXPECT_EQ(ListPriceMicroUsd(&spec, usage, At(20, 0)), 210);
  spec.mutable_price_windows(0)->set_reasoning_usd_per_mtok(1.0);
  EXPECT_EQ(ListPriceMicroUsd(&spec, usage, At(20, 0)), 684);
  // Reservations take the dearest price any completion token may cost.
  EXPECT_EQ(HighestPrices(spec).reasoning_usd_per_mtok, 2.0);
}

TEST(PricingTest, UpstreamCallsCostTheirListPrice) {
  sluice::v1::ModelSpec spec = Spec();
  sluice::v1::RouteDecision decision;
  decision.set_cache("miss");
  PriceDecision(&spec, Usage(1000000, 0, 1000000), kNoon, 0.5, decision);
  EXPECT_EQ(decision.upstream_cost_micro_usd(), 700000);
  EXPECT_EQ(decision.price_micro_usd(), 700000);
}

TEST(PricingTest, CachedAnswersCostNothingUpstreamAndTheTenantsFraction) {
  sluice::v1::ModelSpec spec = Spec();
  for (const char* cache : {"hit", "shared"}) {
    sluice::v1::RouteDecision decision;
    decision.set_cache(cache);
    PriceDecision(&spec, Usage(1000000, 0, 1000000), kNoon, 0.5, decision);
    EXPECT_EQ(decision.upstream_cost_micro_usd(), 0) << cache;
    EXPECT_EQ(decision.price_micro_usd(), 350000) << cache;
  }
  sluice::v1::RouteDecision free_hit;
  free_hit.set_cache("hit");
  PriceDecision(&spec, Usage(1000, 0, 1000), kNoon, 0, free_hit);
  EXPECT_EQ(free_hit.price_micro_usd(), 0);
}

TEST(PricingTest, ListPriceIsThePriceWindowsInForce) {
  sluice::v1::ModelSpec spec = WindowedSpec();
  // Peak: 600*0.28 + 400*0.028 + 500*0.42 = 389.2 → 389.
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000, 400, 500), At(12, 0)), 389);
  // Off-peak, after midnight too: 600*0.14 + 400*0.014 + 500*0.21 = 194.6.
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000, 400, 500), At(16, 30)), 195);
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000, 400, 500), At(0, 29)), 195);
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000, 400, 500), At(0, 30)), 389);
  // Exact for whole tokens: 1M in and out at $0.14 + $0.21.
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000000, 0, 1000000), At(20, 0)),
            350000);
  // No cached price in the window: its own input price.
  spec.mutable_price_windows(0)->clear_cached_input_usd_per_mtok();
  EXPECT_EQ(ListPriceMicroUsd(&spec, Usage(1000, 400, 500), At(20, 0)), 245);
}

TEST(PricingTest, CachedAnswersAreAFractionOfTheWindowsPrice) {
  sluice::v1::ModelSpec spec = WindowedSpec();
  sluice::v1::RouteDecision decision;
  decision.set_cache("hit");
  PriceDecision(&spec, Usage(1000000, 0, 1000000), At(20, 0), 0.5, decision);
  EXPECT_EQ(decision.upstream_cost_micro_usd(), 0);
  EXPECT_EQ(decision.price_micro_usd(), 175000);
}

TEST(PricingTest, SavingsAreWhatTheCacheAndCheaperWindowsAvoided) {
  sluice::v1::ModelSpec spec = WindowedSpec();
  // Off-peak upstream call: 350,000 instead of the model's own 700,000.
  sluice::v1::RouteDecision off_peak;
  off_peak.set_cache("miss");
  PriceDecision(&spec, Usage(1000000, 0, 1000000), At(20, 0), 0.5, off_peak);
  EXPECT_EQ(off_peak.price_micro_usd(), 350000);
  EXPECT_EQ(off_peak.off_peak_saved_micro_usd(), 350000);
  EXPECT_EQ(off_peak.cache_saved_micro_usd(), 0);
  // At peak nothing is saved.
  sluice::v1::RouteDecision peak;
  peak.set_cache("bypass");
  PriceDecision(&spec, Usage(1000000, 0, 1000000), At(12, 0), 0.5, peak);
  EXPECT_EQ(peak.off_peak_saved_micro_usd(), 0);
  // A cached answer saves the upstream call it avoided, at the window's
  // price, whatever the tenant is charged for it.
  sluice::v1::RouteDecision hit;
  hit.set_cache("hit");
  PriceDecision(&spec, Usage(1000000, 0, 1000000), At(20, 0), 0.5, hit);
  EXPECT_EQ(hit.cache_saved_micro_usd(), 350000);
  EXPECT_EQ(hit.price_micro_usd(), 175000);
  EXPECT_EQ(hit.off_peak_saved_micro_usd(), 0);
  // A window dearer than the model's own prices saves nothing.
  spec.mutable_price_windows(0)->set_input_usd_per_mtok(1);
  sluice::v1::RouteDecision dear;
  dear.set_cache("miss");
  PriceDecision(&spec, Usage(1000000, 0, 0), At(20, 0), 0.5, dear);
  EXPECT_EQ(dear.off_peak_saved_micro_usd(), 0);
}

TEST(PricingTest, RequestsArePricedWhenAccepted) {
  sluice::v1::RequestContext context;
  context.set_priced_at_unix_ms(absl::ToUnixMillis(At(17, 0)));
  EXPECT_EQ(PricedAt(context), At(17, 0));
  // Unset: now.
  context.clear_priced_at_unix_ms();
  absl::Time before = absl::Now();
  absl::Time priced_at = PricedAt(context);
  EXPECT_GE(priced_at, before);
  EXPECT_LE(priced_at, absl::Now());
}

sluice::v1::Config WindowedConfig() {
  sluice::v1::Config config;
  sluice::v1::ProviderConfig* provider = config.add_providers();
  provider->set_name("deepseek");
  provider->set_kind(sluice::v1::PROVIDER_KIND_OPENAI);
  provider->set_base_url("http://deepseek.invalid");
  *config.add_models() = WindowedSpec();
  sluice::v1::RouteConfig* route = config.add_routes();
  route->set_model("deepseek-chat");
  route->set_provider("deepseek");
  return config;
}

RouterCoreOptions QuietOptions(obs::MetricsRegistry& metrics) {
  RouterCoreOptions options;
  options.vocab_dir = "/nonexistent-vocab-dir";  // nothing to load
  options.metrics = &metrics;
  return options;
}

TEST(PricingTest, TheRouterPricesAtTheRequestsAcceptanceTime) {
  sluice::v1::Config config = WindowedConfig();
  obs::MetricsRegistry metrics;
  absl::StatusOr<std::unique_ptr<RouterCore>> core =
      RouterCore::Create(config, nullptr, nullptr, QuietOptions(metrics));
  ASSERT_TRUE(core.ok()) << core.status();
  sluice::v1::RequestContext context;
  context.set_tenant("acme");
  // Accepted at 16:29 (peak), priced whenever: peak prices.
  context.set_priced_at_unix_ms(absl::ToUnixMillis(At(16, 29)));
  sluice::v1::RouteDecision peak;
  (*core)->Price("deepseek/deepseek-chat", Usage(1000000, 0, 1000000), context,
                 peak);
  EXPECT_EQ(peak.price_micro_usd(), 700000);
  EXPECT_EQ(peak.upstream_cost_micro_usd(), 700000);
  // Accepted at 16:31: off-peak.
  context.set_priced_at_unix_ms(absl::ToUnixMillis(At(16, 31)));
  sluice::v1::RouteDecision off_peak;
  (*core)->Price("deepseek/deepseek-chat", Usage(1000000, 0, 1000000), context,
                 off_peak);
  EXPECT_EQ(off_peak.price_micro_usd(), 350000);
}

TEST(PricingTest, TheRouterRefusesAMalformedPriceWindow) {
  sluice::v1::Config config = WindowedConfig();
  config.mutable_models(0)->mutable_price_windows(0)->set_end("24:00");
  obs::MetricsRegistry metrics;
  absl::StatusOr<std::unique_ptr<RouterCore>> core =
      RouterCore::Create(config, nullptr, nullptr, QuietOptions(metrics));
  ASSERT_FALSE(core.ok());
  EXPECT_EQ(core.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(core.status().message(),
            "model \"deepseek/deepseek-chat\": price_windows[0].end: "
            "expected \"HH:MM\" in UTC (00:00 to 23:59), got \"24:00\"");
}

}  // namespace
}  // namespace sluice::router
