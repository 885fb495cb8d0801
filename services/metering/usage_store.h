// Where metering keeps usage: an event log keyed by request id (so a
// redelivered event counts once) and running totals per tenant and model.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::metering {

// Where consuming a partition resumes: the offset after the last message
// whose events are stored.
struct ConsumedOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t next = 0;
};

class UsageStore {
 public:
  virtual ~UsageStore() = default;
  // Records the event and adds it to the totals, atomically; an event whose
  // request id was already recorded changes nothing. Returns whether it was
  // new.
  virtual absl::StatusOr<bool> Record(const sluice::v1::UsageEvent& event) = 0;
  // Records every event, and the offsets they were consumed up to, in one
  // transaction (all or none: a replayed message is either stored with its
  // offset or not at all); returns how many events were new.
  virtual absl::StatusOr<int> RecordAll(
      const std::vector<sluice::v1::UsageEvent>& events,
      const std::vector<ConsumedOffset>& offsets = {}) = 0;
  // Where consuming `topic`/`partition` resumes; nullopt when nothing of it
  // was stored.
  virtual absl::StatusOr<std::optional<int64_t>> NextOffset(
      const std::string& topic, int32_t partition) = 0;
  // Totals for one tenant, or all tenants when `tenant` is empty; `events`
  // counts the stored events of those tenants.
  virtual absl::StatusOr<sluice::v1::UsageReport> Totals(
      const std::string& tenant) = 0;
  // Sums of the stored rollups as the query asks (INVALID_ARGUMENT for a
  // malformed one).
  virtual absl::StatusOr<sluice::v1::ReportResponse> Report(
      const sluice::v1::ReportQuery& query) = 0;
  // The stored event of one request; NOT_FOUND when there is none.
  virtual absl::StatusOr<sluice::v1::UsageEvent> FindRequest(
      const std::string& request_id) = 0;
};

using UsageStorePtr = std::unique_ptr<UsageStore>;

}  // namespace sluice::metering
