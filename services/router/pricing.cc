#include "services/router/pricing.h"

#include <algorithm>
#include <cmath>

namespace sluice::router {

int64_t ListPriceMicroUsd(const sluice::v1::ModelSpec* spec,
                          const sluice::v1::Usage& usage) {
  if (spec == nullptr) return 0;
  int64_t cached = std::min(usage.cached_tokens(), usage.prompt_tokens());
  double cached_price = spec->cached_input_usd_per_mtok() > 0
                            ? spec->cached_input_usd_per_mtok()
                            : spec->input_usd_per_mtok();
  double micro_usd =
      static_cast<double>(usage.prompt_tokens() - cached) *
          spec->input_usd_per_mtok() +
      static_cast<double>(cached) * cached_price +
      static_cast<double>(usage.completion_tokens()) *
          spec->output_usd_per_mtok();
  return static_cast<int64_t>(std::llround(micro_usd));
}

void PriceDecision(const sluice::v1::ModelSpec* spec,
                   const sluice::v1::Usage& usage,
                   double cached_price_fraction,
                   sluice::v1::RouteDecision& decision) {
  int64_t list = ListPriceMicroUsd(spec, usage);
  if (decision.cache() == "hit" || decision.cache() == "shared") {
    decision.set_upstream_cost_micro_usd(0);
    decision.set_price_micro_usd(static_cast<int64_t>(
        std::llround(static_cast<double>(list) *
                     std::clamp(cached_price_fraction, 0.0, 1.0))));
  } else {
    decision.set_upstream_cost_micro_usd(list);
    decision.set_price_micro_usd(list);
  }
}

}  // namespace sluice::router
