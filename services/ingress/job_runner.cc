#include "services/ingress/job_runner.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "services/ingress/job_line.h"
#include "spdlog/spdlog.h"

namespace sluice::ingress {

struct JobRunner::Job {
  const kafka::Message* message = nullptr;
  std::string custom_id;
  std::string tenant;  // empty when the key is not valid
  JobTry work;
  // The outcome: an output line, or why the job goes to the dead letters.
  std::string result_line;
  std::string dead_reason;

  std::string id() const { return JobStore::JobId(tenant, custom_id); }
};

namespace {

constexpr size_t kBatchesInFlight = 8;

// The `deadline` header: RFC 3339 or Unix seconds.
absl::StatusOr<absl::Time> ParseDeadline(absl::string_view value) {
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, value, &time, &error)) return time;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) return absl::FromUnixSeconds(seconds);
  return absl::InvalidArgumentError(absl::StrCat(
      "the deadline header must be an RFC 3339 time or Unix seconds, got \"",
      value, "\""));
}

}  // namespace

JobRunnerOptions JobRunnerOptions::FromConfig(const sluice::v1::JobsConfig& config,
                                              const std::string& brokers) {
  JobRunnerOptions options;
  options.brokers = brokers;
  if (!config.topic().empty()) options.topic = config.topic();
  if (!config.results_topic().empty()) options.results_topic = config.results_topic();
  if (!config.dead_letter_topic().empty()) {
    options.dead_letter_topic = config.dead_letter_topic();
  }
  if (!config.consumer_group().empty()) options.consumer_group = config.consumer_group();
  if (config.max_attempts() > 0) options.max_attempts = config.max_attempts();
  if (config.concurrency() > 0) options.concurrency = config.concurrency();
  return options;
}

absl::StatusOr<std::unique_ptr<JobRunner>> JobRunner::Start(
    const JobRunnerOptions& options, ChatEdge* edge, UsageReporter* usage,
    JobStore* store) {
  kafka::ProducerOptions results;
  results.brokers = options.brokers;
  results.client_id = "sluice-jobs";
  results.extra = {{"linger.ms", "5"}};
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
      kafka::Producer::Create(results);
  if (!producer.ok()) return producer.status();
  std::unique_ptr<JobRunner> runner(
      new JobRunner(options, edge, usage, *std::move(producer), store));
  kafka::ConsumerOptions consumer;
  consumer.brokers = options.brokers;
  consumer.group_id = options.consumer_group;
  consumer.topics = {options.topic};
  // A restarted runner gets its partitions back within seconds, not after
  // Kafka's default 45 s session of the member that died.
  consumer.extra = {{"session.timeout.ms", "10000"}, {"heartbeat.interval.ms", "1000"}};
  consumer.extra.insert(consumer.extra.end(), options.consumer_extra.begin(),
                        options.consumer_extra.end());
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> created =
      kafka::Consumer::Create(consumer);
  if (!created.ok()) return created.status();
  runner->consumer_ = *std::move(created);
  JobRunner* self = runner.get();
  // `concurrency` jobs at once, as kBatchesInFlight batches: the next batch
  // starts while the slowest jobs of the others still run.
  const size_t batches = std::min(kBatchesInFlight, options.concurrency);
  absl::Status started = runner->consumer_->StartBatches(
      [self](const std::vector<kafka::Message>& batch) {
        return self->HandleBatch(batch);
      },
      (options.concurrency + batches - 1) / batches, batches);
  if (!started.ok()) return started;
  return runner;
}

JobRunner::~JobRunner() { Stop(); }

void JobRunner::Stop() {
  stopping_.store(true);
  if (consumer_ != nullptr) consumer_->Stop();
  producer_->Flush(absl::Seconds(5)).IgnoreError();  // a poll waits for its own
}

absl::Status JobRunner::HandleBatch(const std::vector<kafka::Message>& batch) {
  std::vector<std::unique_ptr<Job>> jobs;
  std::vector<Job*> to_run;
  for (const kafka::Message& message : batch) {
    auto job = std::make_unique<Job>();
    job->message = &message;
    absl::StatusOr<JobLine> line = ParseJobLine(message.value);
    absl::StatusOr<absl::Time> deadline = absl::Now() + options_.default_timeout;
    if (absl::string_view value = message.Header("deadline"); !value.empty()) {
      deadline = ParseDeadline(value);
    }
    if (!line.ok() || !deadline.ok()) {
      job->dead_reason = std::string((!line.ok() ? line.status() : deadline.status()).message());
      jobs.push_back(std::move(job));
      continue;
    }
    job->custom_id = std::move(line->custom_id);
    job->work.body = std::move(line->body);
    job->work.deadline = *deadline;
    job->work.authorization = std::string(message.Header("authorization"));
    if (absl::StatusOr<Caller> caller =
            edge_->admission().auth().Authenticate(job->work.authorization);
        caller.ok()) {
      job->tenant = caller->tenant;
    }
    jobs.push_back(std::move(job));
  }
  // Jobs answered before (redelivered) take their stored results: one
  // lookup for the poll.
  std::vector<std::string> ids;
  for (const auto& job : jobs) {
    if (job->dead_reason.empty() && !job->tenant.empty()) ids.push_back(job->id());
  }
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> stored =
      store_->Results(ids);
  if (!stored.ok()) return stored.status();  // the batch comes back
  for (const auto& job : jobs) {
    if (!job->dead_reason.empty()) continue;
    if (!job->tenant.empty()) {
      if (auto line = stored->find(job->id()); line != stored->end()) {
        job->result_line = line->second;
        continue;
      }
    }
    to_run.push_back(job.get());
  }

  std::vector<JobTry*> tries;
  absl::flat_hash_map<const JobTry*, Job*> job_of;
  for (Job* job : to_run) {
    tries.push_back(&job->work);
    job_of[&job->work] = job;
  }
  // Each answer is stored as soon as it is final: a job redelivered after a
  // stop or a crash is then answered from it instead of being charged again.
  auto stopping = [this] { return stopping_.load(); };
  absl::Status ran = tries_.Run(tries, stopping, [&](const std::vector<JobTry*>& done) {
    std::vector<std::pair<std::string, std::string>> to_store;
    for (const JobTry* work : done) {
      Job* job = job_of[work];
      if (!work->exhausted.empty()) {
        job->dead_reason = work->exhausted;
        continue;
      }
      job->result_line = JobResultLine(work->request_id, job->custom_id,
                                       work->status_code, work->answer_json);
      // Only jobs of a known tenant are kept: an unknown key's 401 costs
      // nothing to answer again.
      if (!job->tenant.empty()) to_store.emplace_back(job->id(), job->result_line);
    }
    return to_store.empty() ? absl::OkStatus() : store_->Store(to_store);
  });
  if (!ran.ok()) return ran;  // the poll comes back (stopping, or the store failed)

  // Every outcome out, then the offsets: a crash before the acks redelivers
  // the batch, and the stored results answer it.
  absl::Mutex mu;
  absl::Status delivered;
  absl::BlockingCounter acks(static_cast<int>(jobs.size()));
  auto on_delivery = [&](absl::Status status) {
    if (!status.ok()) {
      absl::MutexLock lock(&mu);
      delivered.Update(status);
    }
    acks.DecrementCount();
  };
  for (const auto& job : jobs) {
    if (!job->result_line.empty()) {
      producer_->Produce(options_.results_topic, job->custom_id, job->result_line,
                         on_delivery);
    } else {
      spdlog::warn("jobs: {}/{}@{} goes to {}: {}", job->message->topic,
                   job->message->partition, job->message->offset,
                   options_.dead_letter_topic, job->dead_reason);
      producer_->Produce(options_.dead_letter_topic, job->message->key,
                         JobDeadLetterLine(job->message->value, job->dead_reason,
                                           job->work.attempts),
                         on_delivery);
    }
  }
  acks.Wait();
  absl::MutexLock lock(&mu);
  return delivered;
}

}  // namespace sluice::ingress
