#include "services/metering/metering_impl.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/metering/postgres_usage_store.h"
#include "services/metering/sqlite_usage_store.h"
#include "spdlog/spdlog.h"

namespace sluice::metering {
namespace {

// Usage events stored per transaction at most.
constexpr size_t kMaxBatch = 10000;

}  // namespace

absl::StatusOr<std::unique_ptr<MeteringImpl>> MeteringImpl::Create(
    const sluice::v1::Config& config, const std::string& brokers) {
  const std::string& path = config.metering().sqlite_path().empty()
                                ? std::string("sluice-metering.db")
                                : config.metering().sqlite_path();
  absl::StatusOr<UsageStorePtr> store =
      config.metering().postgres_dsn().empty()
          ? SqliteUsageStore::Open(path)
          : OpenPostgresUsageStore(config.metering().postgres_dsn());
  if (!store.ok()) return store.status();
  std::unique_ptr<MeteringImpl> metering(new MeteringImpl(*std::move(store)));
  if (!config.tracing().keep_disabled()) {
    absl::StatusOr<SpanStorePtr> span_store =
        config.metering().postgres_dsn().empty()
            ? OpenSqliteSpanStore(path)
            : OpenPostgresSpanStore(config.metering().postgres_dsn());
    if (!span_store.ok()) return span_store.status();
    SpanWriter::Options span_options;
    if (config.tracing().has_retention()) {
      span_options.retention =
          absl::Seconds(config.tracing().retention().seconds());
    }
    metering->spans_ = std::make_unique<SpanWriter>(*std::move(span_store),
                                                     span_options);
  }
  kafka::ConsumerOptions options;
  options.brokers = brokers;
  options.group_id = config.metering().consumer_group().empty()
                         ? "sluice-metering"
                         : config.metering().consumer_group();
  options.topics = {config.kafka().usage_topic().empty()
                        ? "sluice.usage"
                        : config.kafka().usage_topic()};
  // Offsets are stored with the events they carried (one transaction), so
  // a crash between the two never counts a message twice or loses one; the
  // group's committed offsets only show the lag.
  UsageStore* store_ptr = metering->store_.get();
  options.stored_offset =
      [store_ptr](const std::string& topic,
                  int32_t partition) -> std::optional<int64_t> {
    absl::StatusOr<std::optional<int64_t>> next =
        store_ptr->NextOffset(topic, partition);
    if (!next.ok()) {
      spdlog::error("metering: stored offset of {}/{}: {}; resuming from the "
                    "group's", topic, partition, next.status().ToString());
      return std::nullopt;
    }
    return *next;
  };
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(options);
  if (!consumer.ok()) return consumer.status();
  metering->consumer_ = *std::move(consumer);
  MeteringImpl* self = metering.get();
  if (absl::Status started = metering->consumer_->StartBatches(
          [self](const std::vector<kafka::Message>& batch) {
            return self->Consume(batch);
          },
          kMaxBatch);
      !started.ok()) {
    return started;
  }
  return metering;
}

MeteringImpl::~MeteringImpl() { Stop(); }

void MeteringImpl::Stop() {
  if (consumer_ != nullptr) consumer_->Stop();
  FlushSpans();
}

void MeteringImpl::FlushSpans() {
  if (spans_ != nullptr) spans_->Flush();
}

absl::Status MeteringImpl::Consume(
    const std::vector<kafka::Message>& messages) {
  // Parsed into the events of the previous batch, reusing their memory
  // (allocating and freeing it was a fifth of consuming).
  std::vector<sluice::v1::UsageEvent>& events = events_;
  if (events.size() < messages.size()) events.resize(messages.size());
  size_t parsed = 0;
  std::vector<ConsumedOffset> offsets;
  for (const kafka::Message& message : messages) {
    auto consumed = std::find_if(
        offsets.begin(), offsets.end(), [&](const ConsumedOffset& offset) {
          return offset.partition == message.partition &&
                 offset.topic == message.topic;
        });
    if (consumed == offsets.end()) {
      offsets.push_back({message.topic, message.partition, 0});
      consumed = offsets.end() - 1;
    }
    consumed->next = std::max(consumed->next, message.offset + 1);
    sluice::v1::UsageEvent& event = events[parsed];
    if (!event.ParseFromString(message.value) || event.request_id().empty()) {
      spdlog::error("metering: skipping malformed usage event at {}/{}@{}",
                    message.topic, message.partition, message.offset);
      continue;
    }
    ++parsed;
  }
  events.resize(parsed);
  absl::StatusOr<int> recorded = store_->RecordAll(events, offsets);
  return recorded.status();  // an error is retried by the consumer
}

void MeteringImpl::GetUsage(host::CallContextPtr context,
                            sluice::v1::UsageQuery query,
                            host::Callback<sluice::v1::UsageReport> done) {
  if (query.tenant().empty()) {
    std::move(done)(
        absl::InvalidArgumentError("a usage query names its tenant"));
    return;
  }
  // A local SQLite read of a small aggregate table: sub-millisecond.
  std::move(done)(store_->Totals(query.tenant()));
}

template <typename T>
void MeteringImpl::OffThread(absl::AnyInvocable<absl::StatusOr<T>() &&> query,
                             host::Callback<T> done) {
  auto shared_done =
      std::make_shared<host::Callback<T>>(std::move(done));
  bool queued = readers_->TrySubmit(
      [query = std::move(query), shared_done]() mutable {
        std::move(*shared_done)(std::move(query)());
      });
  if (!queued) {
    std::move(*shared_done)(absl::UnavailableError(
        "metering is answering too many reports; retry shortly"));
  }
}

void MeteringImpl::Report(host::CallContextPtr context,
                          sluice::v1::ReportQuery query,
                          host::Callback<sluice::v1::ReportResponse> done) {
  UsageStore* store = store_.get();
  OffThread<sluice::v1::ReportResponse>(
      [store, query = std::move(query)]() { return store->Report(query); },
      std::move(done));
}

void MeteringImpl::GetRequest(host::CallContextPtr context,
                              sluice::v1::RequestLookup lookup,
                              host::Callback<sluice::v1::UsageEvent> done) {
  UsageStore* store = store_.get();
  OffThread<sluice::v1::UsageEvent>(
      [store, lookup = std::move(lookup)]()
          -> absl::StatusOr<sluice::v1::UsageEvent> {
        absl::StatusOr<sluice::v1::UsageEvent> event =
            store->FindRequest(lookup.request_id());
        // Another tenant's request is answered as if it did not exist.
        if (event.ok() && !lookup.tenant().empty() &&
            event->tenant() != lookup.tenant()) {
          return absl::NotFoundError(absl::StrCat(
              "no usage recorded for request ", lookup.request_id()));
        }
        return event;
      },
      std::move(done));
}

void MeteringImpl::RecordSpans(
    host::CallContextPtr context, sluice::v1::SpanBatch batch,
    host::Callback<sluice::v1::SpanBatchResult> done) {
  sluice::v1::SpanBatchResult result;
  if (spans_ != nullptr) result.set_accepted(spans_->Add(std::move(batch)));
  std::move(done)(std::move(result));
}

void MeteringImpl::GetTrace(host::CallContextPtr context,
                            sluice::v1::TraceLookup lookup,
                            host::Callback<sluice::v1::Trace> done) {
  if (spans_ == nullptr) {
    std::move(done)(absl::FailedPreconditionError(
        "metering keeps no spans (tracing.keep_disabled)"));
    return;
  }
  UsageStore* store = store_.get();
  SpanStore* span_store = &spans_->store();
  OffThread<sluice::v1::Trace>(
      [store, span_store,
       lookup = std::move(lookup)]() -> absl::StatusOr<sluice::v1::Trace> {
        absl::Status not_found = absl::NotFoundError(
            absl::StrCat("no trace kept for request ", lookup.request_id()));
        // A tenant sees the trace of its own metered requests only.
        if (!lookup.tenant().empty()) {
          absl::StatusOr<sluice::v1::UsageEvent> event =
              store->FindRequest(lookup.request_id());
          if (!event.ok() || event->tenant() != lookup.tenant()) {
            return not_found;
          }
        }
        absl::StatusOr<std::vector<sluice::v1::Span>> spans =
            span_store->FindByRequest(lookup.request_id());
        if (!spans.ok()) return spans.status();
        if (spans->empty()) return not_found;
        sluice::v1::Trace trace;
        trace.set_request_id(lookup.request_id());
        trace.set_trace_id(spans->front().trace_id());
        for (auto& span : *spans) *trace.add_spans() = std::move(span);
        return trace;
      },
      std::move(done));
}

}  // namespace sluice::metering
