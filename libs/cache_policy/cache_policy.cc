#include "libs/cache_policy/cache_policy.h"

#include <algorithm>

#include "libs/config/duration.h"

namespace sluice::cache_policy {
namespace {

constexpr absl::Duration kDefaultTtl = absl::Hours(1);
constexpr absl::Duration kDefaultMaxTtl = absl::Hours(24);

bool Deterministic(const sluice::v1::ChatRequest& request) {
  return (request.has_temperature() && request.temperature() == 0) ||
         request.has_seed();
}

}  // namespace

CacheDecision DecideCaching(const sluice::v1::ChatRequest& request,
                            const sluice::v1::CachePolicy* policy) {
  sluice::v1::CachePolicy defaults;
  if (policy == nullptr) policy = &defaults;
  CacheDecision decision;
  absl::Duration max_ttl =
      sluice::config::DurationOr(policy->max_ttl(), kDefaultMaxTtl);
  decision.ttl =
      std::min(sluice::config::DurationOr(policy->ttl(), kDefaultTtl), max_ttl);
  if (int64_t seconds = request.context().cache_ttl_seconds(); seconds > 0) {
    decision.ttl = std::min(absl::Seconds(seconds), max_ttl);
  }
  const std::string& mode = request.context().cache_mode();
  // The tenant's "never" is the operator's off switch: no header overrides it.
  if (policy->mode() == sluice::v1::CACHE_MODE_NEVER) {
    decision.reason = "tenant_never";
    return decision;
  }
  if (mode == "bypass") {
    decision.reason = "bypass";
    return decision;
  }
  if (mode == "force" || mode == "refresh") {
    decision.read = mode == "force";
    decision.write = true;
    return decision;
  }
  if (policy->mode() == sluice::v1::CACHE_MODE_ALWAYS) {
    decision.read = decision.write = true;
    return decision;
  }
  if (!Deterministic(request)) {
    decision.reason = "not_deterministic";
    return decision;
  }
  decision.read = decision.write = true;
  return decision;
}

}  // namespace sluice::cache_policy
