#include "services/ingress/spend_estimate.h"

#include <algorithm>
#include <cmath>

namespace sluice::ingress {

void SpendEstimator::Prices::Widen(const Prices& other) {
  input = std::max(input, other.input);
  output = std::max(output, other.output);
  max_output_tokens = std::max(max_output_tokens, other.max_output_tokens);
}

SpendEstimator::SpendEstimator(const sluice::v1::Config& config) {
  absl::flat_hash_map<std::string, Prices> specs;  // "provider/model"
  for (const sluice::v1::ModelSpec& spec : config.models()) {
    Prices prices{spec.input_usd_per_mtok(), spec.output_usd_per_mtok(),
                  spec.max_output_tokens()};
    specs[spec.provider() + "/" + spec.model()] = prices;
    highest_.Widen(prices);
  }
  auto price_of = [&specs](const std::string& provider,
                           const std::string& model) {
    auto it = specs.find(provider + "/" + model);
    return it == specs.end() ? Prices{} : it->second;
  };
  for (const sluice::v1::RouteConfig& route : config.routes()) {
    Prices& prices = by_model_[route.model()];
    if (!route.provider().empty()) {
      prices.Widen(price_of(route.provider(), route.upstream_model().empty()
                                                  ? route.model()
                                                  : route.upstream_model()));
    }
    for (const auto& candidate : route.candidates()) {
      prices.Widen(price_of(candidate.provider(), candidate.model()));
    }
    for (const auto& task : route.tasks()) {
      for (const auto& candidate : task.candidates()) {
        prices.Widen(price_of(candidate.provider(), candidate.model()));
      }
    }
  }
  for (const sluice::v1::ModelAlias& alias : config.router().aliases()) {
    auto target = by_model_.find(alias.model());
    if (target == by_model_.end()) continue;
    // Copied out first: inserting the alias may rehash the map.
    Prices prices = target->second;
    by_model_[alias.alias()] = prices;
  }
}

int64_t SpendEstimator::MaxMicroUsd(const std::string& model,
                                    int64_t prompt_tokens,
                                    int64_t max_completion_tokens) const {
  auto it = by_model_.find(model);
  const Prices& prices = it == by_model_.end() ? highest_ : it->second;
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
