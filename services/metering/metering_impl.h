// The Metering component as hosted in this process: a Kafka consumer of
// usage events into a UsageStore (SQLite), and usage queries answered from
// it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/io/bounded_pool.h"
#include "libs/kafka/consumer.h"
#include "services/metering/metering.h"
#include "services/metering/span_writer.h"
#include "services/metering/usage_store.h"
#include "sluice/v1/config.pb.h"

namespace sluice::metering {

class MeteringImpl final : public Metering {
 public:
  // Opens the store and starts consuming `kafka.usage_topic` from `brokers`.
  static absl::StatusOr<std::unique_ptr<MeteringImpl>> Create(
      const sluice::v1::Config& config, const std::string& brokers);
  ~MeteringImpl() override;

  // Metering
  void GetUsage(host::CallContextPtr context, sluice::v1::UsageQuery query,
                host::Callback<sluice::v1::UsageReport> done) override;
  void Report(host::CallContextPtr context, sluice::v1::ReportQuery query,
              host::Callback<sluice::v1::ReportResponse> done) override;
  void GetRequest(host::CallContextPtr context,
                  sluice::v1::RequestLookup lookup,
                  host::Callback<sluice::v1::UsageEvent> done) override;
  void RecordSpans(host::CallContextPtr context, sluice::v1::SpanBatch batch,
                   host::Callback<sluice::v1::SpanBatchResult> done) override;
  void GetTrace(host::CallContextPtr context, sluice::v1::TraceLookup lookup,
                host::Callback<sluice::v1::Trace> done) override;

  // Stores the spans queued so far (tests read right after recording).
  void FlushSpans();

  // Stops consuming (what was consumed is stored; the rest stays in Kafka).
  void Stop();

 private:
  explicit MeteringImpl(UsageStorePtr store) : store_(std::move(store)) {}
  // Runs `query` on a reader thread (a report over a long range scans many
  // rows: never on an I/O or RPC thread); UNAVAILABLE when too many wait.
  template <typename T>
  void OffThread(absl::AnyInvocable<absl::StatusOr<T>() &&> query,
                 host::Callback<T> done);
  // Applies what one poll round brought, in one store transaction; a
  // malformed message is logged and skipped.
  absl::Status Consume(const std::vector<kafka::Message>& messages);

  UsageStorePtr store_;
  // Null when tracing.keep_disabled.
  std::unique_ptr<SpanWriter> spans_;
  // The last batch's events, parsed into again by the next (only on the
  // consumer's thread).
  std::vector<sluice::v1::UsageEvent> events_;
  std::unique_ptr<kafka::Consumer> consumer_;
  // Last: its threads stop (running what is queued) before the store goes.
  std::unique_ptr<io::BoundedPool> readers_ =
      std::make_unique<io::BoundedPool>(2, 64);
};

}  // namespace sluice::metering
