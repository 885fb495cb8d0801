// The bounded chaos run: sluice split into processes under sustained load
// (unary and streamed requests, a share of them meeting upstream faults:
// 429, 5xx, resets, stalls, truncated and cut streams) while, one at a time
// and then together, the router, adapters, cache and metering processes
// are SIGKILLed and restarted and the Kafka broker goes down and comes
// back. Afterwards: every request got an answer (a success or a clean
// OpenAI-shaped error, never a dropped connection), each has exactly one
// usage event, and ingress's memory is back near its baseline; the figures
// are printed. `./dev test` runs it for SLUICE_CHAOS_SECONDS (30 s),
// `./dev chaos` for longer.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/usage_events.h"
#include "tests/support/http_test_client.h"

namespace sluice::testing {
namespace {

constexpr int kClients = 6;
constexpr int kClientRate = 25;

absl::Duration RunLength() {
  const char* text = std::getenv("SLUICE_CHAOS_SECONDS");
  int seconds = 30;
  if (text != nullptr && !absl::SimpleAtoi(text, &seconds)) seconds = 30;
  return absl::Seconds(std::max(seconds, 8));
}

// The upstream fault request `n` asks the simulator for, in its prompt
// (tools/upstream-sim/controls.h).
std::string FaultWords(int n) {
  // One request in fourteen meets a fault: enough to keep retries,
  // fallbacks and cut streams busy, not so many that the breaker rests the
  // provider for the whole run (a 429 rests it for its Retry-After, so
  // those are rarer).
  if (n % 2000 == 1000) return " x-sim-fault=429 x-sim-fault-times=1";
  switch (n % 70) {
    case 11: return " x-sim-fault=500 x-sim-fault-times=2";
    case 19: return " x-sim-fault=503 x-sim-fault-times=9";
    case 27: return " x-sim-fault=reset x-sim-fault-times=1";
    case 35: return " x-sim-fault=stall x-sim-fault-after=2 x-sim-fault-times=1";
    case 43: return " x-sim-fault=truncate x-sim-fault-times=1";
    case 51: return " x-sim-fault=cut x-sim-fault-after=1 x-sim-fault-times=9";
    default: return "";
  }
}

bool IsOpenAiError(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  return doc.IsObject() && doc.HasMember("error") && doc["error"].IsObject() &&
         doc["error"].HasMember("message") &&
         doc["error"]["message"].IsString() && doc["error"].HasMember("type");
}

enum class Outcome { kSuccess, kCleanError, kBroken };

// What a client got: a whole answer, a clean error (an error status with
// OpenAI's error body, or a stream ending in an error event), or something
// broken (no answer, a stream that just stops, a body of another shape).
Outcome Classify(const HttpAnswer& answer, bool stream) {
  if (!answer.error.empty()) return Outcome::kBroken;
  if (answer.status != 200) {
    return IsOpenAiError(answer.body) ? Outcome::kCleanError : Outcome::kBroken;
  }
  if (!stream) {
    rapidjson::Document doc;
    doc.Parse(answer.body.c_str());
    return doc.IsObject() && doc.HasMember("choices") ? Outcome::kSuccess
                                                      : Outcome::kBroken;
  }
  std::vector<std::string> data = SseData(answer.body);
  if (!data.empty() && data.back() == "[DONE]") return Outcome::kSuccess;
  for (const std::string& payload : data) {
    if (IsOpenAiError(payload)) return Outcome::kCleanError;
  }
  return Outcome::kBroken;
}

int64_t RssKib(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::atoll(line.c_str() + 6);
    }
  }
  return -1;
}

// The load: kClients threads sending one request after another until
// stopped, each with its own x-client-request-id.
class Load {
 public:
  explicit Load(std::string base) : base_(std::move(base)) {}
  ~Load() { Stop(); }

  void Start() {
    for (int i = 0; i < kClients; ++i) {
      clients_.emplace_back([this] {
        // Each client at most kClientRate requests a second (errors come
        // back at once; unpaced, a client would spin on them).
        absl::Time next = absl::Now();
        while (!stop_.load()) {
          Send(next_.fetch_add(1));
          next += absl::Seconds(1) / kClientRate;
          absl::Time now = absl::Now();
          if (next > now) absl::SleepFor(next - now);
          else next = now;
        }
      });
    }
  }
  void Stop() {
    stop_.store(true);
    for (std::thread& client : clients_) client.join();
    clients_.clear();
  }

  std::set<std::string> ids() {
    absl::MutexLock lock(&mu_);
    return ids_;
  }
  std::map<Outcome, int> outcomes() {
    absl::MutexLock lock(&mu_);
    return outcomes_;
  }
  std::map<long, int> statuses() {
    absl::MutexLock lock(&mu_);
    return statuses_;
  }
  std::vector<std::string> broken() {
    absl::MutexLock lock(&mu_);
    return broken_;
  }

 private:
  void Send(int n) {
    std::string id = absl::StrCat("chaos-", n);
    bool stream = n % 2 == 1;
    std::string body = absl::StrCat(
        R"({"model":"deepseek-chat","max_tokens":8,"stream":)",
        stream ? "true" : "false",
        R"(,"messages":[{"role":"user","content":"chaos )", id,
        FaultWords(n), R"("}]})");
    HttpAnswer answer = HttpCall(
        "POST", base_ + "/v1/chat/completions",
        {absl::StrCat("Authorization: Bearer ", kDemoKey),
         "Content-Type: application/json",
         absl::StrCat("x-client-request-id: ", id)},
        body);
    Outcome outcome = Classify(answer, stream);
    absl::MutexLock lock(&mu_);
    ids_.insert(id);
    ++outcomes_[outcome];
    ++statuses_[answer.status];
    if (answer.status != 200 && samples_.size() < 5 &&
        !samples_.contains(answer.status)) {
      samples_[answer.status] = answer.body.substr(0, 300);
    }
    if (outcome == Outcome::kBroken && broken_.size() < 10) {
      broken_.push_back(absl::StrCat(id, " (", stream ? "stream" : "unary",
                                     "): status ", answer.status, " ",
                                     answer.error, " ",
                                     answer.body.substr(0, 300)));
    }
  }

  const std::string base_;
  std::atomic<bool> stop_{false};
  std::atomic<int> next_{0};
  std::vector<std::thread> clients_;
  absl::Mutex mu_;
  std::set<std::string> ids_ ABSL_GUARDED_BY(mu_);
  std::map<Outcome, int> outcomes_ ABSL_GUARDED_BY(mu_);
  std::map<long, int> statuses_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> broken_ ABSL_GUARDED_BY(mu_);
  std::map<long, std::string> samples_ ABSL_GUARDED_BY(mu_);

 public:
  std::map<long, std::string> samples() {
    absl::MutexLock lock(&mu_);
    return samples_;
  }
};

TEST(ChaosTest, UnderLoadAndFaultsEveryRequestIsAnsweredAndMeteredOnce) {
  GatewayOptions options;
  options.sim_ttft = absl::Milliseconds(5);
  options.sim_per_token = absl::Milliseconds(2);
  // The breaker opens on bursts of failures (a killed process), not on the
  // steady share of injected faults, and a short cooldown brings the
  // provider back within the phase (30 s would rest it for most of a
  // bounded run, which would then exercise little but the 503).
  options.extra_yaml =
      "router: {circuit_breaker: {failure_threshold: 40, window: 1s, "
      "cooldown: 1s}}\n";
  auto gateway = Gateway::Start(Gateway::Layout::kSplit, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  Gateway& g = **gateway;
  UsageEvents usage(g.brokers(), "chaos-test");

  // The faults, one at a time and then together; the load runs through
  // each for a share of the run (the scenario, not a wait for a state).
  struct Phase {
    std::string name;
    std::function<absl::Status()> start;
    std::function<absl::Status()> end;
  };
  auto ok = [] { return absl::OkStatus(); };
  auto kill = [&g](const char* service) {
    return [&g, service] { return g.KillAndRestartService(service); };
  };
  auto broker = [&g](int signal) {
    return [&g, signal] {
      ::kill(g.broker_process().pid(), signal);
      return absl::OkStatus();
    };
  };
  std::vector<Phase> phases = {
      {"calm", ok, ok},
      {"router SIGKILLed and restarted", kill("router"), ok},
      {"adapters SIGKILLed and restarted", kill("adapters"), ok},
      {"Kafka broker down, then up", broker(SIGUSR1), broker(SIGUSR2)},
      {"cache SIGKILLed and restarted", kill("cache"), ok},
      {"metering SIGKILLed and restarted", kill("metering"), ok},
      {"all at once: broker down, router and adapters killed",
       [&] {
         (void)broker(SIGUSR1)();
         absl::Status router = g.KillAndRestartService("router");
         absl::Status adapters = g.KillAndRestartService("adapters");
         return router.ok() ? adapters : router;
       },
       broker(SIGUSR2)},
      {"calm again", ok, ok},
  };
  const absl::Duration share = RunLength() / phases.size();

  Load load(g.http_base());
  load.Start();
  // Ingress's memory after the first round of faults (one at a time), and
  // at the end: the second round and the calm after it must not add to it.
  int64_t warm_kib = -1, after_round_kib = -1;
  for (const Phase& phase : phases) {
    absl::Time began = absl::Now();
    ASSERT_TRUE(phase.start().ok()) << phase.name;
    absl::SleepFor(share - (absl::Now() - began));
    ASSERT_TRUE(phase.end().ok()) << phase.name;
    if (warm_kib < 0) warm_kib = RssKib(g.ingress_process().pid());
    if (absl::StartsWith(phase.name, "metering")) {
      after_round_kib = RssKib(g.ingress_process().pid());
    }
    std::cout << "chaos: " << phase.name << " (ingress RSS "
              << RssKib(g.ingress_process().pid()) / 1024 << " MiB; "
              << load.ids().size() << " requests so far:";
    for (const auto& [status, count] : load.statuses()) {
      std::cout << " " << status << "×" << count;
    }
    std::cout << ")\n";
  }
  load.Stop();

  std::set<std::string> ids = load.ids();
  std::vector<sluice::v1::UsageEvent> events =
      usage.WaitFor(ids, absl::Seconds(90));
  std::map<std::string, int> per_id;
  for (const auto& event : events) ++per_id[event.client_request_id()];
  int missing = 0, twice = 0;
  for (const std::string& id : ids) {
    int count = per_id.count(id) ? per_id[id] : 0;
    missing += count == 0;
    twice += count > 1;
  }
  int64_t end_kib = RssKib(g.ingress_process().pid());

  std::map<Outcome, int> outcomes = load.outcomes();
  std::cout << "chaos figures: " << ids.size() << " requests, "
            << outcomes[Outcome::kSuccess] << " answered, "
            << outcomes[Outcome::kCleanError] << " clean errors, "
            << outcomes[Outcome::kBroken] << " broken; usage events: "
            << missing << " requests without one, " << twice
            << " with more than one; ingress RSS " << warm_kib / 1024
            << " MiB after warm-up, " << after_round_kib / 1024
            << " MiB after the first round of faults, " << end_kib / 1024
            << " MiB at the end\n";
  std::cout << "chaos statuses:";
  for (const auto& [status, count] : load.statuses()) {
    std::cout << " " << status << "×" << count;
  }
  std::cout << "\n";
  for (const auto& [status, body] : load.samples()) {
    std::cout << "chaos: a " << status << ": " << body << "\n";
  }

  EXPECT_GT(outcomes[Outcome::kSuccess], 0);
  EXPECT_EQ(outcomes[Outcome::kBroken], 0);
  for (const std::string& broken : load.broken()) ADD_FAILURE() << broken;
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(twice, 0);
  // What ingress holds does not grow with the requests it serves or the
  // faults it meets: its first kills raise its memory once (allocator
  // arenas, reconnect buffers), the second round and the calm after add
  // nothing.
  EXPECT_LE(end_kib, after_round_kib + 32 * 1024);
}

}  // namespace
}  // namespace sluice::testing
