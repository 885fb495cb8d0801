// Where metering keeps usage: an event log keyed by request id (so a
// redelivered event counts once) and running totals per tenant and model.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::metering {

class UsageStore {
 public:
  virtual ~UsageStore() = default;
  // Records the event and adds it to the totals, atomically; an event whose
  // request id was already recorded changes nothing. Returns whether it was
  // new.
  virtual absl::StatusOr<bool> Record(const sluice::v1::UsageEvent& event) = 0;
  // Records every event in one transaction (all or none); returns how many
  // were new.
  virtual absl::StatusOr<int> RecordAll(
      const std::vector<sluice::v1::UsageEvent>& events) = 0;
  // Totals for one tenant, or all tenants when `tenant` is empty.
  virtual absl::StatusOr<sluice::v1::UsageReport> Totals(
      const std::string& tenant) = 0;
};

using UsageStorePtr = std::unique_ptr<UsageStore>;

}  // namespace sluice::metering
