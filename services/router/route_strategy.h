// Orders a route's candidates for one request: drops those that cannot
// serve it (context window, tool support), applies the route's strategy
// (priority, cost, latency, weighted), then moves candidates that are slow
// or not admissible right now to the back as last resorts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"
#include "libs/routing/candidate.h"
#include "services/router/candidate_health.h"
#include "sluice/v1/config.pb.h"

namespace sluice::router {

using routing::Candidate;

struct RequestNeeds {
  int64_t prompt_tokens = 0;
  int64_t max_output_tokens = 0;  // 0: unknown
  bool needs_tools = false;
};

struct Ordering {
  std::vector<Candidate> order;
  // One reason per dropped candidate, e.g.
  // "sim/m: context window 8192 < 9000 tokens", "x/y: no tool support".
  std::vector<std::string> skipped;
};

// `rng` draws for the latency (power of two choices) and weighted
// strategies. Reads `health` only: it never takes a half-open probe slot,
// the executor calls Admit itself.
Ordering OrderCandidates(sluice::v1::RouteStrategy strategy,
                         const std::vector<Candidate>& candidates,
                         const RequestNeeds& needs, const HealthBoard& health,
                         absl::Time now, absl::BitGenRef rng);

// Estimated USD of the request on `c`: prompt tokens at the input price plus
// expected output (max_output_tokens if known, else 256) at the output
// price. nullopt without a spec.
std::optional<double> EstimatedCostUsd(const Candidate& c,
                                       const RequestNeeds& needs);

}  // namespace sluice::router
