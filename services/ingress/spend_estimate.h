// What a request may cost before it is answered, for budget reservations at
// ingress: its estimated prompt tokens and completion allowance at the
// highest catalog prices among the models its name may be served by (any
// candidate, any task class, aliases followed). Settling then charges the
// price the router actually computed, so a generous estimate only holds
// budget while the request is in flight.
#pragma once

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

class SpendEstimator {
 public:
  explicit SpendEstimator(const sluice::v1::Config& config);

  // Micro-USD: prompt_tokens at the input price plus the completion
  // allowance (max_completion_tokens, max_tokens, else the largest output
  // limit among the candidates, else kDefaultCompletionTokens) at the output
  // price. Unknown names are priced at the catalog's highest prices.
  int64_t MaxMicroUsd(const std::string& model, int64_t prompt_tokens,
                      int64_t max_completion_tokens) const;

  static constexpr int64_t kDefaultCompletionTokens = 4096;

 private:
  struct Prices {
    double input = 0;   // USD per million tokens
    double output = 0;
    int64_t max_output_tokens = 0;
    void Widen(const Prices& other);
  };

  absl::flat_hash_map<std::string, Prices> by_model_;
  Prices highest_;
};

}  // namespace sluice::ingress
