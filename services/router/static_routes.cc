#include "services/router/static_routes.h"

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace sluice::router {

StaticRoutes::StaticRoutes(const sluice::v1::Config& config) {
  for (const auto& route : config.routes()) {
    Route r{route.provider(), route.upstream_model().empty()
                                  ? route.model()
                                  : route.upstream_model()};
    if (routes_.emplace(route.model(), std::move(r)).second) {
      models_.push_back(route.model());
    }
  }
}

absl::StatusOr<Route> StaticRoutes::Resolve(const std::string& model) const {
  auto it = routes_.find(model);
  if (it == routes_.end()) {
    return status::NotFound(
        absl::StrCat("The model `", model, "` does not exist or you do not ",
                     "have access to it."),
        "model", "model_not_found");
  }
  return it->second;
}

}  // namespace sluice::router
