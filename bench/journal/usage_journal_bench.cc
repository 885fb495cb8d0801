// The usage journal's cost per request: Begin (the routed request's
// record), Finish (its final event's record) and the release once the
// event is durable, against the event's serialization alone (which every
// request pays for Kafka anyway). Segments rotate as in ingress (every
// 2 s), on the temporary directory's file system.
#include <stdlib.h>

#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "services/ingress/usage_journal.h"

namespace sluice::ingress {
namespace {

// An event as a routed chat request's carries it.
sluice::v1::UsageEvent TypicalEvent(int i) {
  sluice::v1::UsageEvent event;
  event.set_request_id("req_018f3a2b4c5d6e7f8091a2b3c4" + std::to_string(i));
  event.set_tenant("acme");
  event.set_key_id("key_3f9a1c2b");
  event.set_model("deepseek-chat");
  event.set_provider("deepseek");
  event.set_upstream_model("deepseek-chat");
  event.set_client_request_id("client-" + std::to_string(i));
  event.set_trace_id("4bf92f3577b34da6a3ce929d0e0e4736");
  event.set_stream(true);
  event.mutable_usage()->set_prompt_tokens(812);
  event.mutable_usage()->set_completion_tokens(164);
  event.mutable_usage()->set_total_tokens(976);
  event.mutable_decision()->set_task("chat");
  event.mutable_decision()->set_strategy("cost");
  event.mutable_decision()->set_attempts(1);
  event.mutable_decision()->set_price_micro_usd(412);
  event.set_status(200);
  event.set_latency_ms(920);
  return event;
}

void BM_SerializeOnly(benchmark::State& state) {
  sluice::v1::UsageEvent event = TypicalEvent(1);
  for (auto _ : state) {
    std::string bytes = event.SerializeAsString();
    benchmark::DoNotOptimize(bytes);
  }
}
BENCHMARK(BM_SerializeOnly);

void BM_SerializeAndJournal(benchmark::State& state) {
  char dir[] = "/tmp/sluice-journal-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    state.SkipWithError("mkdtemp");
    return;
  }
  std::vector<sluice::v1::UsageEvent> leftover;
  auto journal = UsageJournal::Open({dir}, &leftover);
  if (!journal.ok()) {
    state.SkipWithError(journal.status().ToString().c_str());
    return;
  }
  sluice::v1::UsageEvent begun = TypicalEvent(1);
  begun.clear_usage();
  begun.clear_decision();
  sluice::v1::UsageEvent finished = TypicalEvent(1);
  for (auto _ : state) {
    UsageJournal::EntryPtr entry = (*journal)->Begin(begun);
    std::string bytes = finished.SerializeAsString();
    entry = (*journal)->Finish(std::move(entry), bytes);
    entry.reset();  // the event is durable
    benchmark::DoNotOptimize(bytes);
  }
}
BENCHMARK(BM_SerializeAndJournal);

}  // namespace
}  // namespace sluice::ingress

BENCHMARK_MAIN();
