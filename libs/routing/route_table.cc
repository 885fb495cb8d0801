#include "libs/routing/route_table.h"

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace sluice::routing {

RouteTable::RouteTable(const sluice::v1::Config& config) : config_(config) {
  for (const sluice::v1::ModelAlias& alias : config.router().aliases()) {
    aliases_.emplace(alias.alias(), alias.model());
  }
  for (const sluice::v1::ModelSpec& spec : config.models()) {
    specs_.emplace(absl::StrCat(spec.provider(), "/", spec.model()), &spec);
  }
}

const sluice::v1::ModelSpec* RouteTable::Spec(absl::string_view provider,
                                              absl::string_view model) const {
  auto it = specs_.find(absl::StrCat(provider, "/", model));
  return it == specs_.end() ? nullptr : it->second;
}

const sluice::v1::RouteConfig* RouteTable::Find(
    absl::string_view model, absl::string_view tenant) const {
  const sluice::v1::RouteConfig* shared = nullptr;
  for (const sluice::v1::RouteConfig& route : config_.routes()) {
    if (route.model() != model) continue;
    if (!route.tenant().empty()) {
      if (route.tenant() == tenant) return &route;
    } else if (shared == nullptr) {
      shared = &route;
    }
  }
  return shared;
}

std::vector<Candidate> RouteTable::CandidatesOf(
    const google::protobuf::RepeatedPtrField<sluice::v1::RouteCandidate>&
        candidates) const {
  std::vector<Candidate> out;
  out.reserve(candidates.size());
  for (const sluice::v1::RouteCandidate& c : candidates) {
    Candidate candidate;
    candidate.provider = c.provider();
    candidate.model = c.model();
    candidate.weight = c.weight() > 0 ? c.weight() : 1;
    candidate.spec = Spec(c.provider(), c.model());
    out.push_back(std::move(candidate));
  }
  return out;
}

absl::string_view RouteTable::Canonical(absl::string_view model) const {
  auto alias = aliases_.find(model);
  return alias == aliases_.end() ? model : absl::string_view(alias->second);
}

std::vector<Candidate> RouteTable::DefaultCandidates(
    const sluice::v1::RouteConfig& route) const {
  std::vector<Candidate> candidates;
  if (!route.provider().empty()) {
    // The short form: one provider, listed before any explicit candidates.
    Candidate candidate;
    candidate.provider = route.provider();
    candidate.model = route.upstream_model().empty() ? route.model()
                                                     : route.upstream_model();
    candidate.spec = Spec(candidate.provider, candidate.model);
    candidates.push_back(std::move(candidate));
  }
  std::vector<Candidate> more = CandidatesOf(route.candidates());
  candidates.insert(candidates.end(), more.begin(), more.end());
  return candidates;
}

std::vector<Candidate> RouteTable::AllCandidates(
    const sluice::v1::RouteConfig& route) const {
  std::vector<Candidate> all = DefaultCandidates(route);
  for (const sluice::v1::TaskRoute& task : route.tasks()) {
    std::vector<Candidate> more = CandidatesOf(task.candidates());
    all.insert(all.end(), more.begin(), more.end());
  }
  return all;
}

absl::StatusOr<RoutePlan> RouteTable::Resolve(absl::string_view model,
                                              absl::string_view tenant,
                                              absl::string_view task) const {
  absl::string_view resolved = Canonical(model);
  const sluice::v1::RouteConfig* route = Find(resolved, tenant);
  if (route == nullptr) {
    return status::NotFound(
        absl::StrCat("The model `", model, "` does not exist or you do not ",
                     "have access to it."),
        "model", "model_not_found");
  }
  RoutePlan plan;
  plan.model = std::string(resolved);
  plan.strategy = route->strategy();
  plan.on_truncation = route->on_truncation();
  for (const sluice::v1::TaskRoute& task_route : route->tasks()) {
    if (task_route.task() == task && !task_route.candidates().empty()) {
      plan.strategy = task_route.strategy();
      plan.candidates = CandidatesOf(task_route.candidates());
      return plan;
    }
  }
  plan.candidates = DefaultCandidates(*route);
  return plan;
}

}  // namespace sluice::routing
