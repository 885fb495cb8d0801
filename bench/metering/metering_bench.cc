// Usage events ingested per second by metering, two ways:
//  1. the SQLite store alone: RecordAll in batches of 500 (what one poll of
//     the consumer hands over), with the consumed offsets in the same
//     transaction, synchronous=FULL, on a file in /tmp;
//  2. end to end: the events produced to the Kafka dev broker first (16
//     partitions: the mock cluster keeps at most 5 MB per partition log
//     and drops older messages), then metering (its consumer group and
//     store) started and timed from its first stored event to its last.
// Events look like ingress's (ids, tenant among 50, five models, a route
// decision with prices), about 240 bytes serialized.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/kafka/dev_broker.h"
#include "libs/kafka/producer.h"
#include "libs/obs/trace_context.h"
#include "services/metering/metering_impl.h"
#include "services/metering/sqlite_usage_store.h"
#include "spdlog/spdlog.h"

namespace sluice::metering {
namespace {

constexpr int kBatch = 2000;

sluice::v1::UsageEvent MakeEvent(int i) {
  static const char* const kModels[] = {"deepseek-chat", "deepseek-reasoner",
                                        "gpt-4o-mini", "claude-sonnet-4-5",
                                        "local"};
  sluice::v1::UsageEvent event;
  // Ids as ingress makes them (time-ordered), 50 requests a millisecond.
  event.set_request_id(
      obs::NewRequestId(obs::ThreadLocalRandom(),
                        absl::FromUnixMillis(1'790'000'000'000 + i / 50)));
  event.set_client_request_id(absl::StrCat("client-", i));
  event.set_tenant(absl::StrCat("tenant-", i % 50));
  event.set_key_id(absl::StrCat("key-", i % 200));
  event.set_model(kModels[i % 5]);
  event.set_provider("deepseek");
  event.set_upstream_model(kModels[i % 5]);
  sluice::v1::Usage* usage = event.mutable_usage();
  usage->set_prompt_tokens(800 + i % 300);
  usage->set_completion_tokens(200 + i % 90);
  usage->set_cached_tokens(i % 3 == 0 ? 512 : 0);
  usage->set_total_tokens(usage->prompt_tokens() + usage->completion_tokens());
  event.set_status(i % 40 == 0 ? 429 : 200);
  event.set_stream(i % 2 == 0);
  event.set_latency_ms(300 + i % 700);
  event.set_overhead_us(90 + i % 50);
  event.mutable_time()->set_seconds(1'790'000'000 + i / 1000);
  event.set_trace_id(absl::StrFormat("%032x", i * 40503u + 7));
  sluice::v1::RouteDecision* decision = event.mutable_decision();
  decision->set_task("chat");
  decision->set_task_reason("default");
  decision->set_strategy("cost");
  decision->set_attempts(1);
  decision->set_reason("deepseek/deepseek-chat:served");
  decision->set_cache("miss");
  decision->set_price_micro_usd(300 + i % 100);
  decision->set_upstream_cost_micro_usd(300 + i % 100);
  return event;
}

std::string TempDir() {
  char pattern[] = "/tmp/sluice-metering-bench.XXXXXX";
  if (mkdtemp(pattern) == nullptr) return "/tmp";
  return pattern;
}

double StoreAlone(int events) {
  std::string dir = TempDir();
  absl::StatusOr<UsageStorePtr> store =
      SqliteUsageStore::Open(dir + "/metering.db");
  if (!store.ok()) {
    std::fprintf(stderr, "store: %s\n", store.status().ToString().c_str());
    return 0;
  }
  std::vector<std::vector<sluice::v1::UsageEvent>> batches;
  for (int i = 0; i < events; i += kBatch) {
    std::vector<sluice::v1::UsageEvent> batch;
    for (int j = i; j < std::min(events, i + kBatch); ++j) {
      batch.push_back(MakeEvent(j));
    }
    batches.push_back(std::move(batch));
  }
  absl::Time start = absl::Now();
  int64_t offset = 0;
  for (const auto& batch : batches) {
    offset += static_cast<int64_t>(batch.size());
    absl::StatusOr<int> added =
        (*store)->RecordAll(batch, {{"sluice.usage", 0, offset}});
    if (!added.ok()) {
      std::fprintf(stderr, "record: %s\n", added.status().ToString().c_str());
      return 0;
    }
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  store->reset();
  std::filesystem::remove_all(dir);
  return events / seconds;
}

double EndToEnd(int events) {
  absl::StatusOr<std::unique_ptr<kafka::DevBroker>> broker =
      kafka::DevBroker::Start();
  if (!broker.ok() || !(*broker)->CreateTopic("sluice.usage", 16).ok()) {
    std::fprintf(stderr, "dev broker did not start\n");
    return 0;
  }
  {
    kafka::ProducerOptions options;
    options.brokers = (*broker)->bootstrap_servers();
    options.extra = {{"queue.buffering.max.messages", "1000000"}};
    absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
        kafka::Producer::Create(options);
    if (!producer.ok()) return 0;
    std::atomic<int> failed{0};
    for (int i = 0; i < events; ++i) {
      sluice::v1::UsageEvent event = MakeEvent(i);
      (*producer)->Produce("sluice.usage", event.tenant(),
                           event.SerializeAsString(),
                           [&failed](absl::Status status) {
                             if (!status.ok()) ++failed;
                           });
    }
    if (!(*producer)->Flush(absl::Seconds(60)).ok() || failed > 0) {
      std::fprintf(stderr, "%d events were not produced\n", failed.load());
      return 0;
    }
  }
  std::string dir = TempDir();
  sluice::v1::Config config;
  config.mutable_metering()->set_sqlite_path(dir + "/metering.db");
  config.mutable_metering()->set_consumer_group("bench");
  absl::StatusOr<std::unique_ptr<MeteringImpl>> metering =
      MeteringImpl::Create(config, (*broker)->bootstrap_servers());
  if (!metering.ok()) {
    std::fprintf(stderr, "metering: %s\n",
                 metering.status().ToString().c_str());
    return 0;
  }
  // A second connection to the same file, to watch the count.
  absl::StatusOr<UsageStorePtr> watch =
      SqliteUsageStore::Open(dir + "/metering.db");
  if (!watch.ok()) return 0;
  absl::Time first = absl::InfiniteFuture();
  int64_t first_count = 0;
  int64_t stored = 0;
  absl::Time deadline = absl::Now() + absl::Minutes(3);
  while (stored < events && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
    absl::StatusOr<sluice::v1::UsageReport> report = (*watch)->Totals("");
    if (!report.ok()) continue;
    stored = report->events();
    if (stored > 0 && first == absl::InfiniteFuture()) {
      first = absl::Now();
      first_count = stored;
    }
  }
  absl::Time last = absl::Now();
  (*metering)->Stop();
  metering->reset();
  watch->reset();
  std::filesystem::remove_all(dir);
  if (stored < events) {
    std::fprintf(stderr, "only %lld of %d events stored\n",
                 static_cast<long long>(stored), events);
    return 0;
  }
  return (events - first_count) / absl::ToDoubleSeconds(last - first);
}

}  // namespace
}  // namespace sluice::metering

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  int events = 200'000;
  if (argc > 1 && !absl::SimpleAtoi(argv[1], &events)) {
    std::fprintf(stderr, "usage: %s [events]\n", argv[0]);
    return 2;
  }
  std::printf("| metering ingest (%d events of ~%zu B) | events/s |\n", events,
              sluice::metering::MakeEvent(1).ByteSizeLong());
  std::printf("|---|---:|\n");
  std::printf(
      "| SQLite store alone (batches of %d, synchronous=FULL) | %.0f |\n",
      sluice::metering::kBatch, sluice::metering::StoreAlone(events));
  std::fflush(stdout);
  std::printf("| dev broker -> consumer group -> store | %.0f |\n",
              sluice::metering::EndToEnd(events));
  return 0;
}
