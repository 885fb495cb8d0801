// The static route table from config: a public model name → the provider
// and upstream model that serve it. Classification and route plans with
// fallbacks build on this (router issue).
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "sluice/v1/config.pb.h"

namespace sluice::router {

struct Route {
  std::string provider;
  std::string upstream_model;
};

class StaticRoutes {
 public:
  explicit StaticRoutes(const sluice::v1::Config& config);

  // NOT_FOUND (OpenAI code model_not_found) for a model with no route.
  absl::StatusOr<Route> Resolve(const std::string& model) const;
  // Public model names, in config order.
  const std::vector<std::string>& models() const { return models_; }

 private:
  absl::flat_hash_map<std::string, Route> routes_;
  std::vector<std::string> models_;
};

}  // namespace sluice::router
