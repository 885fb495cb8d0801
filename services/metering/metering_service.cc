#include "services/metering/metering_service.h"

#include "libs/status/grpc_status.h"
#include "services/metering/sqlite_usage_store.h"
#include "spdlog/spdlog.h"

namespace sluice::metering {

absl::StatusOr<std::unique_ptr<MeteringService>> MeteringService::Create(
    const sluice::v1::Config& config, const std::string& brokers) {
  const std::string& path = config.metering().sqlite_path().empty()
                                ? std::string("sluice-metering.db")
                                : config.metering().sqlite_path();
  absl::StatusOr<UsageStorePtr> store = SqliteUsageStore::Open(path);
  if (!store.ok()) return store.status();
  std::unique_ptr<MeteringService> service(
      new MeteringService(*std::move(store)));
  kafka::ConsumerOptions options;
  options.brokers = brokers;
  options.group_id = config.metering().consumer_group().empty()
                         ? "sluice-metering"
                         : config.metering().consumer_group();
  options.topics = {config.kafka().usage_topic().empty()
                        ? "sluice.usage"
                        : config.kafka().usage_topic()};
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(options);
  if (!consumer.ok()) return consumer.status();
  service->consumer_ = *std::move(consumer);
  MeteringService* self = service.get();
  if (absl::Status started = service->consumer_->Start(
          [self](const kafka::Message& m) { return self->Consume(m); });
      !started.ok()) {
    return started;
  }
  return service;
}

MeteringService::~MeteringService() {
  if (consumer_ != nullptr) consumer_->Stop();
}

absl::Status MeteringService::Consume(const kafka::Message& message) {
  sluice::v1::UsageEvent event;
  if (!event.ParseFromString(message.value) || event.request_id().empty()) {
    spdlog::error("metering: skipping malformed usage event at {}/{}@{}",
                  message.topic, message.partition, message.offset);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> recorded = store_->Record(event);
  return recorded.status();  // an error is retried by the consumer
}

grpc::ServerUnaryReactor* MeteringService::GetUsage(
    grpc::CallbackServerContext* context, const sluice::v1::UsageQuery* query,
    sluice::v1::UsageReport* report) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // A local SQLite read of a small aggregate table: sub-millisecond.
  absl::StatusOr<sluice::v1::UsageReport> totals =
      store_->Totals(query->tenant());
  if (totals.ok()) *report = *std::move(totals);
  reactor->Finish(status::ToGrpcStatus(totals.status()));
  return reactor;
}

}  // namespace sluice::metering
