#include "services/ingress/stream_slots.h"

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace sluice::ingress {

StreamSlots::StreamSlots(const sluice::v1::Config& config) {
  for (const sluice::v1::TenantConfig& tenant : config.tenants()) {
    if (tenant.limits().max_concurrent_streams() > 0) {
      limits_[tenant.name()] = tenant.limits().max_concurrent_streams();
    }
  }
}

absl::Status StreamSlots::Take(const std::string& tenant,
                               RequestRecord& record) {
  auto limit = limits_.find(tenant);
  if (limit == limits_.end()) return absl::OkStatus();
  {
    absl::MutexLock lock(&mu_);
    int& in_use = in_use_[tenant];
    if (in_use >= limit->second) {
      // A slot frees when some stream ends; a second is a fair first wait.
      return status::RateLimited(
          absl::StrCat("Too many concurrent streams: this tenant may hold ",
                       limit->second, " at once."),
          absl::Seconds(1));
    }
    ++in_use;
  }
  record.OnFinish([this, tenant](const sluice::v1::UsageEvent&) {
    absl::MutexLock lock(&mu_);
    --in_use_[tenant];
  });
  return absl::OkStatus();
}

int StreamSlots::InUse(const std::string& tenant) const {
  absl::MutexLock lock(&mu_);
  auto it = in_use_.find(tenant);
  return it == in_use_.end() ? 0 : it->second;
}

}  // namespace sluice::ingress
