// Which candidates may serve a request: model aliases, per-tenant routes,
// per-task candidate lists and the model catalog (prices, context windows,
// tokenizers), all from config and read-only once built. The router plans
// with it; ingress prices a request's worst case with it.
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/routing/candidate.h"
#include "sluice/v1/config.pb.h"

namespace sluice::routing {

struct RoutePlan {
  // The public model the request resolved to (after aliases).
  std::string model;
  sluice::v1::RouteStrategy strategy = sluice::v1::ROUTE_STRATEGY_PRIORITY;
  std::vector<Candidate> candidates;
  sluice::v1::TruncationPolicy on_truncation =
      sluice::v1::TRUNCATION_POLICY_REPORT;

  // The spec that names the plan's tokenizer and chat template (its first
  // candidate's with a spec); null when no candidate has one.
  const sluice::v1::ModelSpec* TokenizerSpec() const {
    for (const Candidate& candidate : candidates) {
      if (candidate.spec != nullptr) return candidate.spec;
    }
    return nullptr;
  }
};

class RouteTable {
 public:
  // `config` must outlive the table (candidates point into its models).
  explicit RouteTable(const sluice::v1::Config& config);

  // NOT_FOUND (OpenAI code model_not_found) for a model with no route for
  // this tenant.
  absl::StatusOr<RoutePlan> Resolve(absl::string_view model,
                                    absl::string_view tenant,
                                    absl::string_view task) const;
  // The model spec of a candidate, or null when the catalog has none.
  const sluice::v1::ModelSpec* Spec(absl::string_view provider,
                                    absl::string_view model) const;
  // `model` after aliases.
  absl::string_view Canonical(absl::string_view model) const;
  // Every candidate `route` may be served by, whatever the task class.
  std::vector<Candidate> AllCandidates(
      const sluice::v1::RouteConfig& route) const;

 private:
  const sluice::v1::RouteConfig* Find(absl::string_view model,
                                      absl::string_view tenant) const;
  // The route's own candidates (its provider first), no task class.
  std::vector<Candidate> DefaultCandidates(
      const sluice::v1::RouteConfig& route) const;
  std::vector<Candidate> CandidatesOf(
      const google::protobuf::RepeatedPtrField<sluice::v1::RouteCandidate>&
          candidates) const;

  const sluice::v1::Config& config_;
  absl::flat_hash_map<std::string, std::string> aliases_;
  // "provider/model" → spec.
  absl::flat_hash_map<std::string, const sluice::v1::ModelSpec*> specs_;
};

}  // namespace sluice::routing
