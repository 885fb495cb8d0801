// What an answer cost upstream and what the tenant is charged, in micro-USD
// from the model catalog's per-million-token prices in force when the
// request was accepted (a token at $X per million tokens costs X micro-USD,
// so the arithmetic is exact).
#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "sluice/v1/chat.pb.h"
#include "sluice/v1/config.pb.h"

namespace sluice::router {

// The time a request is priced at: when it was accepted
// (context.priced_at_unix_ms), else now.
absl::Time PricedAt(const sluice::v1::RequestContext& context);

// The list price of `usage` on `spec` at `at` (see PricesAt): uncached
// prompt tokens at the input price, cached ones at the cached-input price
// (the input price when it has none), completion tokens at the output
// price. 0 without a spec.
int64_t ListPriceMicroUsd(const sluice::v1::ModelSpec* spec,
                          const sluice::v1::Usage& usage, absl::Time at);

// Fills decision.upstream_cost_micro_usd and price_micro_usd: a call that
// went upstream costs and is charged its list price at `at`; an answer from
// the cache (decision.cache "hit" or "shared") costs nothing upstream and is
// charged `cached_price_fraction` of the list price.
void PriceDecision(const sluice::v1::ModelSpec* spec,
                   const sluice::v1::Usage& usage, absl::Time at,
                   double cached_price_fraction,
                   sluice::v1::RouteDecision& decision);

}  // namespace sluice::router
