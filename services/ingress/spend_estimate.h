// What a request may cost before it is answered, for budget reservations at
// ingress: its estimated prompt tokens and completion allowance at the
// highest catalog prices among the models its name may be served by for
// its tenant (any candidate, any task class, aliases followed), as the
// route table (libs/routing) says, in or out of their price windows.
// Settling then charges the price the router actually computed, so a
// generous estimate only holds budget while the request is in flight.
#pragma once

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

class SpendEstimator {
 public:
  explicit SpendEstimator(const sluice::v1::Config& config);

  // Micro-USD: prompt_tokens at the input price plus the completion
  // allowance (max_completion_tokens, max_tokens, else the largest output
  // limit among the candidates, else kDefaultCompletionTokens) at the output
  // price. A tenant's own route of `model` wins over the shared one; names
  // with no route are priced at the catalog's highest prices.
  int64_t MaxMicroUsd(absl::string_view model, absl::string_view tenant,
                      int64_t prompt_tokens,
                      int64_t max_completion_tokens) const;

  static constexpr int64_t kDefaultCompletionTokens = 4096;

 private:
  struct Prices {
    double input = 0;   // USD per million tokens
    double output = 0;
    int64_t max_output_tokens = 0;
    // The highest prices of `spec` in or out of its price windows.
    static Prices Of(const sluice::v1::ModelSpec& spec);
    void Widen(const Prices& other);
  };
  const Prices& PricesOf(absl::string_view model,
                         absl::string_view tenant) const;

  // tenant → public model or alias → prices; tenant "" for shared routes.
  // (Keyed by strings, looked up by string_view: no allocation per request.)
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, Prices>>
      by_route_;
  Prices highest_;
};

}  // namespace sluice::ingress
