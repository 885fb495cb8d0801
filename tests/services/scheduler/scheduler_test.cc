// The scheduler in front of the real adapters, calling the upstream
// simulator over loopback HTTP: what the provider sees is what the
// scheduler let through.
#include "services/scheduler/scheduler_impl.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "libs/io/io_threads.h"
#include "libs/obs/metrics.h"
#include "libs/status/errors.h"
#include "libs/upstream/http_client.h"
#include "services/adapters/adapters_impl.h"
#include "tests/libs/redis/redis_server.h"
#include "tools/upstream-sim/simulator.h"

namespace sluice::scheduler {
namespace {

using sluice::v1::AdapterRequest;
using sluice::v1::ChatResponse;

constexpr absl::Duration kWait = absl::Seconds(30);

// Collects the answers of many calls.
class Answers {
 public:
  host::Callback<ChatResponse> Add(std::string name) {
    return [this, name = std::move(name)](absl::StatusOr<ChatResponse> answer) {
      absl::MutexLock lock(&mu_);
      order_.push_back(name);
      statuses_[name] = answer.status();
      if (answer.ok()) {
        queued_[name] = absl::Microseconds(answer->decision().queue_us());
      }
    };
  }
  // Waits until `count` answers came.
  bool WaitFor(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return order_.size() >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kWait);
  }
  std::vector<std::string> order() {
    absl::MutexLock lock(&mu_);
    return order_;
  }
  absl::Status StatusOf(const std::string& name) {
    absl::MutexLock lock(&mu_);
    return statuses_.at(name);
  }
  // The wait in the queue the answer reports.
  absl::Duration QueuedOf(const std::string& name) {
    absl::MutexLock lock(&mu_);
    return queued_.at(name);
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> statuses_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Duration> queued_ ABSL_GUARDED_BY(mu_);
};

// A stream's chunks, and its end.
class StreamAnswer final : public host::Sink<sluice::v1::ChatChunk> {
 public:
  bool Next(sluice::v1::ChatChunk chunk) override {
    absl::MutexLock lock(&mu_);
    chunks_.push_back(std::move(chunk));
    return true;
  }
  void Done(absl::Status status) override {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
  }
  // The chunks, once the stream ended.
  std::optional<std::vector<sluice::v1::ChatChunk>> Wait() {
    absl::MutexLock lock(&mu_);
    auto ended = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return status_.has_value();
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&ended), kWait) || !status_->ok()) {
      return std::nullopt;
    }
    return chunks_;
  }

 private:
  absl::Mutex mu_;
  std::vector<sluice::v1::ChatChunk> chunks_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> status_ ABSL_GUARDED_BY(mu_);
};

class SchedulerTest : public ::testing::Test {
 protected:
  void Start(sim::SimulatorOptions sim_options, sluice::v1::ProviderLimits limits,
             std::map<std::string, double> weights = {}) {
    auto sim = sim::Simulator::Start(sim_options);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = *std::move(sim);
    auto* provider = config_.add_providers();
    provider->set_name("sim");
    provider->set_kind(sluice::v1::PROVIDER_KIND_OPENAI);
    provider->set_base_url(absl::StrCat("http://127.0.0.1:", sim_->port(), "/v1"));
    *provider->mutable_limits() = limits;
    for (const auto& [tenant, weight] : weights) {
      auto* t = config_.add_tenants();
      t->set_name(tenant);
      t->set_weight(weight);
    }
    io_ = std::make_unique<io::IoThreads>(2);
    auto adapters = adapters::AdaptersImpl::Create(config_, nullptr, &io_->context());
    ASSERT_TRUE(adapters.ok()) << adapters.status();
    adapters_ = *std::move(adapters);
    SchedulerOptions options;
    options.metrics = &metrics_;
    auto scheduler =
        SchedulerImpl::Create(config_, adapters_.get(), &io_->context(), options);
    ASSERT_TRUE(scheduler.ok()) << scheduler.status();
    scheduler_ = *std::move(scheduler);
  }

  void TearDown() override {
    scheduler_.reset();
    adapters_.reset();
    if (io_ != nullptr) io_->Stop();
    sim_.reset();
  }

  // A provider that answers in `latency` and takes `cap` calls at once.
  void StartCapped(int cap, absl::Duration latency) {
    sluice::v1::ProviderLimits limits;
    limits.set_max_concurrency(cap);
    Start({.ttft = latency}, limits);
  }

  static host::CallContextPtr Context(const std::string& tenant, bool batch = false,
                                      absl::Duration deadline = kWait) {
    host::CallContext::Options options;
    options.deadline = absl::Now() + deadline;
    options.caller.tenant = tenant;
    options.caller.batch = batch;
    return host::CallContext::Create(std::move(options));
  }

  static AdapterRequest Request(const std::string& text) {
    AdapterRequest request;
    request.set_provider("sim");
    request.set_upstream_model("deepseek-chat");
    auto* message = request.mutable_request()->add_messages();
    message->set_role("user");
    message->set_text(text);
    request.mutable_request()->set_model("deepseek-chat");
    return request;
  }

  sluice::v1::Config config_;
  obs::MetricsRegistry metrics_;
  std::unique_ptr<sim::Simulator> sim_;
  std::unique_ptr<io::IoThreads> io_;
  std::unique_ptr<adapters::AdaptersImpl> adapters_;
  std::unique_ptr<SchedulerImpl> scheduler_;
};

TEST_F(SchedulerTest, TheProviderNeverSeesMoreThanItsConcurrency) {
  constexpr absl::Duration kLatency = absl::Milliseconds(100);
  StartCapped(3, kLatency);
  Answers answers;
  absl::Time begun = absl::Now();
  for (int i = 0; i < 12; ++i) {
    scheduler_->Complete(Context("t"), Request(absl::StrCat("question ", i)),
                         answers.Add(absl::StrCat("c", i)));
  }
  ASSERT_TRUE(answers.WaitFor(12));
  for (const std::string& name : answers.order()) {
    EXPECT_TRUE(answers.StatusOf(name).ok()) << name << ": " << answers.StatusOf(name);
  }
  // Four rounds of three: no call started before a slot was free.
  EXPECT_GE(absl::Now() - begun, 4 * kLatency);
  // A slot is held from before the request leaves until its answer is in,
  // so a slot's next arrival comes at least the latency after its last:
  // no window shorter than the latency holds more than 3 arrivals.
  std::vector<int64_t> ms;
  for (const sim::Arrival& arrival : sim_->stats().arrivals) ms.push_back(arrival.ms);
  ASSERT_EQ(ms.size(), 12u);
  std::sort(ms.begin(), ms.end());
  for (size_t i = 3; i < ms.size(); ++i) {
    EXPECT_GE(ms[i] - ms[i - 3], absl::ToInt64Milliseconds(kLatency) - 1)
        << "arrivals " << i - 3 << ".." << i << " overlap";
  }
}

// What a call waited for a slot is reported with its answer (and on a
// stream's first chunk), for the usage event's queue time.
TEST_F(SchedulerTest, AnAnswerSaysHowLongItsCallWaitedInTheQueue) {
  constexpr absl::Duration kLatency = absl::Milliseconds(200);
  StartCapped(1, kLatency);
  Answers answers;
  scheduler_->Complete(Context("t"), Request("first"), answers.Add("first"));
  scheduler_->Complete(Context("t"), Request("second"), answers.Add("second"));
  StreamAnswer third;
  scheduler_->StreamComplete(Context("t"), Request("third"), &third);
  ASSERT_TRUE(answers.WaitFor(2));
  ASSERT_TRUE(answers.StatusOf("second").ok()) << answers.StatusOf("second");
  // The first found the slot free; the second waited out the first call.
  EXPECT_LT(answers.QueuedOf("first"), kLatency / 2);
  EXPECT_GE(answers.QueuedOf("second"), kLatency - absl::Milliseconds(5));
  std::optional<std::vector<sluice::v1::ChatChunk>> chunks = third.Wait();
  ASSERT_TRUE(chunks.has_value() && !chunks->empty());
  // The stream waited out both.
  EXPECT_GE(absl::Microseconds(chunks->front().decision().queue_us()),
            2 * kLatency - absl::Milliseconds(10));
  for (size_t i = 1; i < chunks->size(); ++i) {
    EXPECT_EQ((*chunks)[i].decision().queue_us(), 0) << "chunk " << i;
  }
}

TEST_F(SchedulerTest, WeightsShareAContendedProviderOneToThree) {
  sluice::v1::ProviderLimits limits;
  limits.set_max_concurrency(1);
  Start({.ttft = absl::Milliseconds(2)}, limits, {{"light", 1.0}, {"heavy", 3.0}});
  Answers answers;
  // Hold the one slot while both tenants queue the same calls.
  scheduler_->Complete(Context("warmup"), Request("warm up"), answers.Add("warmup"));
  for (int i = 0; i < 40; ++i) {
    scheduler_->Complete(Context("light"), Request("the same question"),
                         answers.Add(absl::StrCat("light", i)));
    scheduler_->Complete(Context("heavy"), Request("the same question"),
                         answers.Add(absl::StrCat("heavy", i)));
  }
  ASSERT_TRUE(answers.WaitFor(81));
  // Under contention (the first 40 served after the warm-up, both tenants
  // still backlogged), heavy gets three calls of the same size for light's one.
  std::vector<std::string> order = answers.order();
  int heavy = 0;
  for (size_t i = 1; i <= 40; ++i) heavy += order[i].rfind("heavy", 0) == 0;
  EXPECT_NEAR(heavy, 30, 3) << "heavy got " << heavy << " of 40";
}

TEST_F(SchedulerTest, ACallWhoseDeadlinePassesInTheQueueNeverReachesTheProvider) {
  StartCapped(1, absl::Milliseconds(600));
  Answers answers;
  scheduler_->Complete(Context("t"), Request("slow"), answers.Add("slow"));
  scheduler_->Complete(Context("t", false, absl::Milliseconds(200)), Request("hurried"),
                       answers.Add("hurried"));
  ASSERT_TRUE(answers.WaitFor(1));
  EXPECT_EQ(answers.order()[0], "hurried");  // answered at its deadline, not after slow
  EXPECT_TRUE(absl::IsDeadlineExceeded(answers.StatusOf("hurried")))
      << answers.StatusOf("hurried");
  ASSERT_TRUE(answers.WaitFor(2));
  EXPECT_TRUE(answers.StatusOf("slow").ok());
  EXPECT_EQ(sim_->stats().requests, 1);
}

TEST_F(SchedulerTest, ACancelledCallLeavesTheQueueAtOnce) {
  StartCapped(1, absl::Seconds(2));
  Answers answers;
  scheduler_->Complete(Context("t"), Request("slow"), answers.Add("slow"));
  host::CallContextPtr waiting = Context("t");
  scheduler_->Complete(waiting, Request("given up"), answers.Add("given up"));
  absl::Time cancelled = absl::Now();
  waiting->Cancel();
  ASSERT_TRUE(answers.WaitFor(1));
  EXPECT_EQ(answers.order()[0], "given up");
  EXPECT_TRUE(absl::IsCancelled(answers.StatusOf("given up")));
  EXPECT_LT(absl::Now() - cancelled, absl::Seconds(1));
  ASSERT_TRUE(answers.WaitFor(2));
  EXPECT_EQ(sim_->stats().requests, 1);
}

TEST_F(SchedulerTest, AProvider429HoldsTheNextCallsUntilRetryAfter) {
  Start({}, {});
  Answers answers;
  // The simulator answers the first call 429 with Retry-After: 1.
  upstream::HttpRequest fault;
  fault.url = absl::StrCat("http://127.0.0.1:", sim_->port(), "/sim/faults");
  fault.headers = {{"content-type", "application/json"}};
  fault.body = R"({"fault":"429","count":1})";
  auto client = upstream::HttpClient::Create();
  ASSERT_TRUE(client.ok());
  auto queued = upstream::Fetch(**client, std::move(fault));
  ASSERT_TRUE(queued.ok() && queued->status == 200);

  scheduler_->Complete(Context("t"), Request("first"), answers.Add("first"));
  ASSERT_TRUE(answers.WaitFor(1));
  absl::Status first = answers.StatusOf("first");
  EXPECT_TRUE(absl::IsResourceExhausted(first)) << first;
  scheduler_->Complete(Context("t"), Request("second"), answers.Add("second"));
  ASSERT_TRUE(answers.WaitFor(2));
  EXPECT_TRUE(answers.StatusOf("second").ok()) << answers.StatusOf("second");
  std::vector<sim::Arrival> arrivals = sim_->stats().arrivals;
  ASSERT_EQ(arrivals.size(), 2u);  // the second waited, it was not refused
  EXPECT_GE(arrivals[1].ms - arrivals[0].ms, 950);
}

TEST_F(SchedulerTest, AFullQueueAnswers429WithRetryAfter) {
  config_.mutable_scheduler()->set_max_queue(2);
  StartCapped(1, absl::Milliseconds(300));
  Answers answers;
  for (int i = 0; i < 4; ++i) {
    scheduler_->Complete(Context("t"), Request("q"), answers.Add(absl::StrCat("c", i)));
  }
  // One runs, two wait, the fourth is refused at once.
  ASSERT_TRUE(answers.WaitFor(1));
  EXPECT_EQ(answers.order()[0], "c3");
  absl::Status refused = answers.StatusOf("c3");
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_TRUE(status::RetryAfterOf(refused).has_value());
  ASSERT_TRUE(answers.WaitFor(4));
  for (const char* name : {"c0", "c1", "c2"}) EXPECT_TRUE(answers.StatusOf(name).ok()) << name;
  // Operators see it: one refusal, three calls that waited.
  std::string metrics = metrics_.RenderPrometheusText();
  EXPECT_NE(metrics.find("sluice_scheduler_refused_total{priority=\"interactive\","
                         "provider=\"sim\",reason=\"queue_full\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("sluice_scheduler_queue_time_seconds_count{priority=\"interactive\","
                         "provider=\"sim\"} 3"),
            std::string::npos)
      << metrics;
}

// Two scheduler replicas (each with its own adapters) in front of one
// provider, sharing its concurrency cap through a real redis-server.
class SharedLimitsTest : public SchedulerTest {
 protected:
  void StartReplicas(bool shared, sluice::v1::ProviderLimits limits = {}) {
    auto redis = redis::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    if (limits.ByteSizeLong() == 0) limits.set_max_concurrency(3);
    if (shared) config_.mutable_scheduler()->set_redis(redis_->address());
    Start({.ttft = kLatency}, limits);
    auto adapters = adapters::AdaptersImpl::Create(config_, nullptr, &io_->context());
    ASSERT_TRUE(adapters.ok()) << adapters.status();
    second_adapters_ = *std::move(adapters);
    auto second = SchedulerImpl::Create(config_, second_adapters_.get(), &io_->context());
    ASSERT_TRUE(second.ok()) << second.status();
    second_ = *std::move(second);
  }
  void TearDown() override {
    second_.reset();
    second_adapters_.reset();
    SchedulerTest::TearDown();
  }

  // `count` calls, every other one through the second replica.
  void SendAcrossReplicas(int count, Answers& answers) {
    for (int i = 0; i < count; ++i) {
      SchedulerImpl& replica = i % 2 ? *second_ : *scheduler_;
      replica.Complete(Context("t"), Request(absl::StrCat("q", i)),
                       answers.Add(absl::StrCat("c", i)));
    }
  }

  // Whether the provider ever had more than `cap` calls at once: a slot's
  // next arrival comes at least the latency after its last.
  int Overlaps(size_t cap) {
    std::vector<int64_t> ms;
    for (const sim::Arrival& arrival : sim_->stats().arrivals) ms.push_back(arrival.ms);
    std::sort(ms.begin(), ms.end());
    std::string all;
    for (int64_t m : ms) absl::StrAppend(&all, m, " ");
    std::cout << "arrivals (ms): " << all << "\n";
    int overlaps = 0;
    for (size_t i = cap; i < ms.size(); ++i) {
      overlaps += ms[i] - ms[i - cap] < absl::ToInt64Milliseconds(kLatency) - 1;
    }
    return overlaps;
  }

  static constexpr absl::Duration kLatency = absl::Milliseconds(100);
  std::unique_ptr<redis::testing::RedisServer> redis_;
  std::unique_ptr<adapters::AdaptersImpl> second_adapters_;
  std::unique_ptr<SchedulerImpl> second_;
};

TEST_F(SharedLimitsTest, TwoReplicasSharingRedisNeverExceedTheCap) {
  StartReplicas(/*shared=*/true);
  Answers answers;
  SendAcrossReplicas(12, answers);
  ASSERT_TRUE(answers.WaitFor(12));
  for (const std::string& name : answers.order()) {
    EXPECT_TRUE(answers.StatusOf(name).ok()) << name << ": " << answers.StatusOf(name);
  }
  EXPECT_EQ(sim_->stats().requests, 12);
  EXPECT_EQ(Overlaps(3), 0) << "more than 3 calls reached the provider at once";
  EXPECT_EQ(metrics_.RenderPrometheusText().find("sluice_scheduler_shared_limit_errors_total"),
            std::string::npos);
}

TEST_F(SharedLimitsTest, TokensPerMinuteAreSharedAndSettledToRealUsage) {
  // 1,000 tokens a minute; each call is charged its max_tokens (300) and a
  // few prompt tokens when it starts: three fit, the fourth waits until
  // the first answers settle to the few tokens really used.
  sluice::v1::ProviderLimits limits;
  limits.set_tpm(1000);
  StartReplicas(/*shared=*/true, limits);
  Answers answers;
  for (int i = 0; i < 4; ++i) {
    AdapterRequest request = Request(absl::StrCat("q", i));
    request.mutable_request()->set_max_tokens(300);
    SchedulerImpl& replica = i % 2 ? *second_ : *scheduler_;
    replica.Complete(Context("t"), std::move(request), answers.Add(absl::StrCat("c", i)));
  }
  ASSERT_TRUE(answers.WaitFor(4));
  std::vector<sim::Arrival> arrivals = sim_->stats().arrivals;
  ASSERT_EQ(arrivals.size(), 4u);
  std::vector<int64_t> ms;
  for (const auto& arrival : arrivals) ms.push_back(arrival.ms);
  std::sort(ms.begin(), ms.end());
  EXPECT_LT(ms[2] - ms[0], 50);  // three at once
  EXPECT_GE(ms[3] - ms[0], absl::ToInt64Milliseconds(kLatency) - 1);  // after a refund
  EXPECT_LT(ms[3] - ms[0], 5000);  // not after the bucket's own refill (≈ 13 s)
}

TEST_F(SharedLimitsTest, TwoReplicasSharingRedisNeverExceedTheRpm) {
  // 6 requests a minute between both replicas: of 10 calls that may wait
  // 4 s, the provider sees 6 (the bucket refills one every 10 s); the rest
  // reach their deadline in the queue.
  sluice::v1::ProviderLimits limits;
  limits.set_rpm(6);
  StartReplicas(/*shared=*/true, limits);
  Answers answers;
  for (int i = 0; i < 10; ++i) {
    SchedulerImpl& replica = i % 2 ? *second_ : *scheduler_;
    replica.Complete(Context("t", false, absl::Seconds(4)), Request(absl::StrCat("q", i)),
                     answers.Add(absl::StrCat("c", i)));
  }
  ASSERT_TRUE(answers.WaitFor(10));
  int served = 0;
  for (const std::string& name : answers.order()) served += answers.StatusOf(name).ok();
  EXPECT_EQ(served, 6);
  EXPECT_EQ(sim_->stats().requests, 6);
}

TEST_F(SharedLimitsTest, WithoutRedisEachReplicaOnlyKnowsItsOwnRpm) {
  // The control: each replica allows 6 of its own 5 calls: all 10 go.
  sluice::v1::ProviderLimits limits;
  limits.set_rpm(6);
  StartReplicas(/*shared=*/false, limits);
  Answers answers;
  SendAcrossReplicas(10, answers);
  ASSERT_TRUE(answers.WaitFor(10));
  EXPECT_EQ(sim_->stats().requests, 10);
}

TEST_F(SharedLimitsTest, WithoutRedisEachReplicaOnlyKnowsItsOwnCalls) {
  // The control: the same load, limits per replica: up to 6 at once.
  StartReplicas(/*shared=*/false);
  Answers answers;
  SendAcrossReplicas(12, answers);
  ASSERT_TRUE(answers.WaitFor(12));
  EXPECT_GT(Overlaps(3), 0);
}

}  // namespace
}  // namespace sluice::scheduler
