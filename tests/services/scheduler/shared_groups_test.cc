// Two scheduler replicas sharing a worker's limits through a real
// redis-server: batch calls still leave in micro-batches (one ask to Redis
// for the group), the shared cap holds across both replicas, and an
// interactive call never waits for a group.
#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "libs/io/io_threads.h"
#include "libs/obs/metrics.h"
#include "services/scheduler/scheduler_impl.h"
#include "tests/libs/redis/redis_server.h"

namespace sluice::scheduler {
namespace {

using sluice::v1::AdapterRequest;
using sluice::v1::ChatResponse;

constexpr absl::Duration kWait = absl::Seconds(30);

// The worker: answers each call after `latency`, and counts how many calls
// it holds at once (all, and batch ones).
class RecordingWorker final : public adapters::Adapters {
 public:
  RecordingWorker(boost::asio::io_context* io, absl::Duration latency)
      : io_(io), latency_(latency) {}

  // adapters::Adapters
  void Complete(host::CallContextPtr context, AdapterRequest,
                host::Callback<ChatResponse> done) override {
    const bool batch = context->caller().batch;
    {
      absl::MutexLock lock(&mu_);
      ++in_flight_;
      batch_in_flight_ += batch;
      max_in_flight_ = std::max(max_in_flight_, in_flight_);
      max_batch_in_flight_ = std::max(max_batch_in_flight_, batch_in_flight_);
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(*io_);
    timer->expires_after(absl::ToChronoNanoseconds(latency_));
    timer->async_wait(
        [this, timer, batch, done = std::move(done)](boost::system::error_code) mutable {
          {
            absl::MutexLock lock(&mu_);
            --in_flight_;
            batch_in_flight_ -= batch;
          }
          ChatResponse answer;
          answer.mutable_usage()->set_prompt_tokens(10);
          answer.mutable_usage()->set_completion_tokens(5);
          std::move(done)(std::move(answer));
        });
  }
  void StreamComplete(host::CallContextPtr, AdapterRequest,
                      host::Sink<sluice::v1::ChatChunk>* sink) override {
    sink->Done(absl::UnimplementedError("not in this test"));
  }

  // Waits until the worker holds `count` batch calls at once.
  bool WaitForBatchInFlight(int count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return batch_in_flight_ >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kWait);
  }
  int max_in_flight() {
    absl::MutexLock lock(&mu_);
    return max_in_flight_;
  }
  int max_batch_in_flight() {
    absl::MutexLock lock(&mu_);
    return max_batch_in_flight_;
  }

 private:
  boost::asio::io_context* const io_;
  const absl::Duration latency_;
  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int batch_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_batch_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

// The answers of many calls, and how long each waited in the queue.
class Answers {
 public:
  host::Callback<ChatResponse> Add() {
    return [this](absl::StatusOr<ChatResponse> answer) {
      absl::MutexLock lock(&mu_);
      ++count_;
      if (!answer.ok()) {
        failures_.push_back(answer.status().ToString());
      } else {
        queued_.push_back(absl::Microseconds(answer->decision().queue_us()));
      }
    };
  }
  bool WaitFor(int count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kWait);
  }
  std::vector<std::string> failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }
  std::vector<absl::Duration> queued() {
    absl::MutexLock lock(&mu_);
    return queued_;
  }

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> queued_ ABSL_GUARDED_BY(mu_);
};

class SharedGroupsTest : public ::testing::Test {
 protected:
  static constexpr int kCap = 10;
  static constexpr absl::Duration kLatency = absl::Milliseconds(200);
  static constexpr int kPerReplica = 30;  // batch calls

  void SetUp() override {
    auto redis = redis::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    auto* provider = config_.add_providers();
    provider->set_name("worker");
    provider->set_kind(sluice::v1::PROVIDER_KIND_WORKER);
    provider->mutable_limits()->set_max_concurrency(kCap);
    config_.mutable_scheduler()->set_redis(redis_->address());
    // A busy test machine: a Redis answer that came late would let calls
    // through on one replica's limits alone (and is checked below).
    config_.mutable_scheduler()->mutable_redis_timeout()->set_seconds(5);
    // A group leaves once a replica's whole burst has gathered (not after
    // a wait that a busy machine could stretch).
    config_.mutable_scheduler()->set_worker_max_batch(kPerReplica);
    config_.mutable_scheduler()->mutable_worker_max_wait()->set_seconds(10);
    io_ = std::make_unique<io::IoThreads>(2);
    worker_ = std::make_unique<RecordingWorker>(&io_->context(), kLatency);
    for (int i = 0; i < 2; ++i) {
      SchedulerOptions options;
      options.metrics = &metrics_[i];
      auto replica = SchedulerImpl::Create(config_, worker_.get(), &io_->context(), options);
      ASSERT_TRUE(replica.ok()) << replica.status();
      replicas_[i] = *std::move(replica);
    }
  }

  void TearDown() override {
    for (auto& replica : replicas_) replica.reset();
    if (io_ != nullptr) io_->Stop();
  }

  static host::CallContextPtr Context(bool batch) {
    host::CallContext::Options options;
    options.deadline = absl::Now() + kWait;
    options.caller.tenant = batch ? "jobs" : "app";
    options.caller.batch = batch;
    return host::CallContext::Create(std::move(options));
  }

  static AdapterRequest Request(int i) {
    AdapterRequest request;
    request.set_provider("worker");
    request.set_upstream_model("tiny");
    auto* message = request.mutable_request()->add_messages();
    message->set_role("user");
    message->set_text(absl::StrCat("line ", i));
    return request;
  }

  obs::Histogram& GroupSizes(int replica) {
    return metrics_[replica].histogram("sluice_scheduler_micro_batch_size", "", {},
                                       {{"provider", "worker"}});
  }

  sluice::v1::Config config_;
  std::unique_ptr<redis::testing::RedisServer> redis_;
  obs::MetricsRegistry metrics_[2];
  std::unique_ptr<io::IoThreads> io_;
  std::unique_ptr<RecordingWorker> worker_;
  std::unique_ptr<SchedulerImpl> replicas_[2];
};

TEST_F(SharedGroupsTest, BatchCallsLeaveInGroupsAndTheSharedCapHolds) {
  Answers batch;
  for (int i = 0; i < kPerReplica; ++i) {
    for (auto& replica : replicas_) replica->Complete(Context(true), Request(i), batch.Add());
  }
  // While batch calls fill what they may (all slots but one), interactive
  // calls come one after another through both replicas: each finds the
  // slot batch work leaves it, without waiting for a group.
  ASSERT_TRUE(worker_->WaitForBatchInFlight(kCap - 1));
  Answers interactive;
  for (int i = 0; i < 4; ++i) {
    replicas_[i % 2]->Complete(Context(false), Request(i), interactive.Add());
    ASSERT_TRUE(interactive.WaitFor(i + 1));
  }
  ASSERT_TRUE(batch.WaitFor(2 * kPerReplica));
  EXPECT_TRUE(batch.failures().empty()) << absl::StrJoin(batch.failures(), "\n");
  EXPECT_TRUE(interactive.failures().empty()) << absl::StrJoin(interactive.failures(), "\n");
  for (absl::Duration queued : interactive.queued()) {
    EXPECT_LT(queued, kLatency / 2) << "an interactive call waited behind batch work";
  }

  // The groups: each replica's first gathered its burst and asked Redis
  // once; the first to ask got all nine batch slots at once. Later groups
  // are the calls that fit when slots free.
  uint64_t groups = 0;
  double calls = 0;
  double largest = 0;
  for (int i = 0; i < 2; ++i) {
    obs::Histogram& sizes = GroupSizes(i);
    std::vector<uint64_t> counts = sizes.bucket_counts();
    std::vector<std::string> shown;
    for (size_t b = 0; b < counts.size(); ++b) {
      if (counts[b] == 0) continue;
      std::string bound = b < sizes.bounds().size() ? absl::StrCat(sizes.bounds()[b]) : "+Inf";
      shown.push_back(absl::StrCat("<=", bound, ": ", counts[b]));
      if (b < sizes.bounds().size()) largest = std::max(largest, sizes.bounds()[b]);
    }
    std::cout << "replica " << i << ": " << sizes.count() << " groups, " << sizes.sum()
              << " calls (" << absl::StrJoin(shown, ", ") << ")\n";
    groups += sizes.count();
    calls += sizes.sum();
  }
  EXPECT_EQ(calls, 2 * kPerReplica);
  EXPECT_GE(largest, kCap - 1) << "no group of " << kCap - 1 << " left together";
  EXPECT_LT(static_cast<double>(groups), calls) << "every call left on its own";

  // The worker never held more than the shared cap, nor batch calls more
  // than the cap less the interactive slot; Redis answered every ask.
  EXPECT_LE(worker_->max_in_flight(), kCap);
  EXPECT_LE(worker_->max_batch_in_flight(), kCap - 1);
  for (auto& metrics : metrics_) {
    EXPECT_EQ(metrics.RenderPrometheusText().find("sluice_scheduler_shared_limit_errors_total"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace sluice::scheduler
