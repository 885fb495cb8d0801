#include "services/router/pricing.h"

#include <algorithm>
#include <cmath>

#include "absl/time/clock.h"
#include "services/router/price_windows.h"

namespace sluice::router {

absl::Time PricedAt(const sluice::v1::RequestContext& context) {
  return context.priced_at_unix_ms() != 0
             ? absl::FromUnixMillis(context.priced_at_unix_ms())
             : absl::Now();
}

int64_t ListPriceMicroUsd(const sluice::v1::ModelSpec* spec,
                          const sluice::v1::Usage& usage, absl::Time at) {
  if (spec == nullptr) return 0;
  TokenPrices prices = PricesAt(*spec, at);
  int64_t cached = std::min(usage.cached_tokens(), usage.prompt_tokens());
  // Reasoning tokens are part of the completion tokens (OpenAI's and
  // DeepSeek's usage), priced at their own rate where the model has one.
  int64_t reasoning =
      std::min(usage.reasoning_tokens(), usage.completion_tokens());
  double micro_usd =
      static_cast<double>(usage.prompt_tokens() - cached) *
          prices.input_usd_per_mtok +
      static_cast<double>(cached) * prices.cached_input_usd_per_mtok +
      static_cast<double>(usage.completion_tokens() - reasoning) *
          prices.output_usd_per_mtok +
      static_cast<double>(reasoning) * prices.reasoning_usd_per_mtok;
  return static_cast<int64_t>(std::llround(micro_usd));
}

void PriceDecision(const sluice::v1::ModelSpec* spec,
                   const sluice::v1::Usage& usage, absl::Time at,
                   double cached_price_fraction,
                   sluice::v1::RouteDecision& decision) {
  int64_t list = ListPriceMicroUsd(spec, usage, at);
  if (decision.cache() == "hit" || decision.cache() == "shared") {
    decision.set_upstream_cost_micro_usd(0);
    decision.set_price_micro_usd(static_cast<int64_t>(
        std::llround(static_cast<double>(list) *
                     std::clamp(cached_price_fraction, 0.0, 1.0))));
    decision.set_cache_saved_micro_usd(list);
    decision.set_off_peak_saved_micro_usd(0);
  } else {
    decision.set_upstream_cost_micro_usd(list);
    decision.set_price_micro_usd(list);
    decision.set_cache_saved_micro_usd(0);
    // Against the model's own prices (the peak ones); a dearer window
    // saves nothing.
    const int64_t own = ListPriceMicroUsd(spec, usage, absl::InfiniteFuture());
    decision.set_off_peak_saved_micro_usd(std::max<int64_t>(0, own - list));
  }
}

}  // namespace sluice::router
