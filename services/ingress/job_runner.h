// Async jobs from Kafka: each message on the jobs topic is one line of
// OpenAI's Batch API input ({"custom_id","method","url","body"}) with the
// caller's key in an `authorization` header and an optional `deadline`
// header (RFC 3339, or Unix seconds). Each job runs through the same edge
// as an HTTP request (key, model list, limits, budgets, cache, routing,
// exactly one usage event per try), marked as batch work so the scheduler
// queues it behind interactive requests. Its answer (any HTTP status) is
// stored by job id (tenant and custom_id) and produced to the results
// topic keyed by custom_id, in the Batch API's output format; a job that
// cannot run (a malformed line) or whose tries all failed (5xx) goes to the
// dead-letter topic with its reason. A try refused by a rate limit (429
// with Retry-After: the key's or tenant's limits, the provider's queue) is
// not a failure: the job waits and tries again, and the consumer polls no
// more meanwhile, so batch work backs up in Kafka instead of being dropped.
//
// Delivery is at-least-once: a poll's messages are committed only after
// every result and dead letter of theirs was acknowledged by Kafka (and
// those of every poll before it: several polls run at once, so a slow job
// holds up only its own poll); a job redelivered after a crash finds its
// stored result and is answered from it, without calling upstream again.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/producer.h"
#include "services/ingress/chat_edge.h"
#include "services/ingress/job_store.h"
#include "services/ingress/job_tries.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

struct JobRunnerOptions {
  std::string brokers;
  std::string topic = "sluice.jobs";
  std::string results_topic = "sluice.job-results";
  std::string dead_letter_topic = "sluice.jobs.dlq";
  std::string consumer_group = "sluice-jobs";
  // Failed tries (5xx, timeouts) before a job goes to the dead letters.
  int max_attempts = 3;
  // Before a retryable job's next try (doubled each time).
  absl::Duration retry_backoff = absl::Milliseconds(500);
  // A job's deadline when its message names none.
  absl::Duration default_timeout = absl::Minutes(10);
  size_t concurrency = 64;
  // Consumer settings over the defaults (tests shorten timeouts).
  kafka::KafkaSettings consumer_extra;

  // From the config's `jobs` (defaults where it is silent).
  static JobRunnerOptions FromConfig(const sluice::v1::JobsConfig& config,
                                     const std::string& brokers);
};

class JobRunner {
 public:
  // Everything passed in outlives the runner. Starts consuming, and
  // produces results and dead letters with a producer of its own: a poll
  // waits for their acks before its offsets are stored, so their linger is
  // the runner's cycle (5 ms here; the usage events' producer lingers
  // longer to send fewer, larger requests).
  static absl::StatusOr<std::unique_ptr<JobRunner>> Start(
      const JobRunnerOptions& options, ChatEdge* edge, UsageReporter* usage,
      JobStore* store);
  ~JobRunner();

  // The jobs being handled give up their retries and are not committed
  // (they come back after a restart); call before the edge drains.
  void Stopping() { stopping_.store(true); }
  // Leaves the consumer group and joins its thread (after the edge
  // drained: the calls a handler waits for have ended).
  void Stop();

  // One job of a poll (job_runner.cc).
  struct Job;

 private:
  JobRunner(const JobRunnerOptions& options, ChatEdge* edge, UsageReporter* usage,
            std::unique_ptr<kafka::Producer> producer, JobStore* store)
      : options_(options), edge_(edge),
        tries_(edge, usage, &host::Clock::Real(), options.max_attempts,
               options.retry_backoff),
        producer_(std::move(producer)), store_(store) {}

  // One consumer poll's messages; OK when every outcome is acknowledged.
  absl::Status HandleBatch(const std::vector<kafka::Message>& batch);

  const JobRunnerOptions options_;
  ChatEdge* const edge_;
  const JobTries tries_;
  const std::unique_ptr<kafka::Producer> producer_;
  JobStore* const store_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<kafka::Consumer> consumer_;
};

}  // namespace sluice::ingress
