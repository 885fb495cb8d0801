#include "services/metering/metering_span_exporter.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"

namespace sluice::metering {

absl::Status MeteringSpanExporter::Export(sluice::v1::SpanBatch batch) {
  const int count = batch.spans_size();
  host::CallContext::Options options;
  options.deadline = absl::Now() + timeout_;
  // Shared with the callback, which may run after a timed-out wait.
  struct Outcome {
    absl::Notification done;
    absl::Status status;
    int accepted = 0;
  };
  auto outcome = std::make_shared<Outcome>();
  metering_->RecordSpans(
      host::CallContext::Create(std::move(options)), std::move(batch),
      [outcome](absl::StatusOr<sluice::v1::SpanBatchResult> result) {
        if (result.ok()) {
          outcome->accepted = result->accepted();
        } else {
          outcome->status = result.status();
        }
        outcome->done.Notify();
      });
  if (!outcome->done.WaitForNotificationWithTimeout(timeout_ +
                                                    absl::Seconds(1))) {
    return absl::DeadlineExceededError("metering took no spans in time");
  }
  if (!outcome->status.ok()) return outcome->status;
  if (outcome->accepted < count) {
    return absl::ResourceExhaustedError(
        absl::StrCat("metering took ", outcome->accepted, " of ", count,
                     " spans (its queue is full)"));
  }
  return absl::OkStatus();
}

}  // namespace sluice::metering
