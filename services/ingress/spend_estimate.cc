#include "services/ingress/spend_estimate.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "libs/routing/route_table.h"
#include "services/router/price_windows.h"

namespace sluice::ingress {

void SpendEstimator::Prices::Widen(const Prices& other) {
  input = std::max(input, other.input);
  output = std::max(output, other.output);
  max_output_tokens = std::max(max_output_tokens, other.max_output_tokens);
}

SpendEstimator::Prices SpendEstimator::Prices::Of(
    const sluice::v1::ModelSpec& spec) {
  // Whatever the time of day the request is priced at.
  router::TokenPrices highest = router::HighestPrices(spec);
  // Any completion token may be a reasoning one.
  return {highest.input_usd_per_mtok,
          std::max(highest.output_usd_per_mtok, highest.reasoning_usd_per_mtok),
          spec.max_output_tokens()};
}

SpendEstimator::SpendEstimator(const sluice::v1::Config& config) {
  for (const sluice::v1::ModelSpec& spec : config.models()) {
    highest_.Widen(Prices::Of(spec));
  }
  routing::RouteTable table(config);
  for (const sluice::v1::RouteConfig& route : config.routes()) {
    Prices& prices = by_route_[route.tenant()][route.model()];
    for (const routing::Candidate& candidate : table.AllCandidates(route)) {
      if (candidate.spec == nullptr) continue;
      prices.Widen(Prices::Of(*candidate.spec));
    }
  }
  // Aliases are priced as their targets, tenant by tenant.
  for (auto& [tenant, models] : by_route_) {
    std::vector<std::pair<std::string, Prices>> aliased;
    for (const sluice::v1::ModelAlias& alias : config.router().aliases()) {
      auto target = models.find(alias.model());
      if (target != models.end()) {
        aliased.emplace_back(alias.alias(), target->second);
      }
    }
    // Inserted after the loop: inserting may rehash the map it reads.
    for (auto& [name, prices] : aliased) models[name] = prices;
  }
}

const SpendEstimator::Prices& SpendEstimator::PricesOf(
    absl::string_view model, absl::string_view tenant) const {
  for (absl::string_view scope : {tenant, absl::string_view()}) {
    auto models = by_route_.find(scope);
    if (models == by_route_.end()) continue;
    auto prices = models->second.find(model);
    if (prices != models->second.end()) return prices->second;
    if (scope.empty()) break;
  }
  return highest_;
}

int64_t SpendEstimator::MaxMicroUsd(absl::string_view model,
                                    absl::string_view tenant,
                                    int64_t prompt_tokens,
                                    int64_t max_completion_tokens) const {
  const Prices& prices = PricesOf(model, tenant);
  int64_t completion = max_completion_tokens;
  if (completion <= 0) {
    completion = prices.max_output_tokens > 0 ? prices.max_output_tokens
                                              : kDefaultCompletionTokens;
  }
  // A token at $X per million tokens costs X micro-USD.
  double micro_usd = static_cast<double>(prompt_tokens) * prices.input +
                     static_cast<double>(completion) * prices.output;
  // Prices like 0.07 are not exact in binary: a whole amount may come out a
  // hair above itself, which must not round up to the next micro-dollar.
  return static_cast<int64_t>(std::ceil(micro_usd - 1e-6));
}

}  // namespace sluice::ingress
