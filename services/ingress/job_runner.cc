#include "services/ingress/job_runner.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"
#include "libs/status/openai_error.h"
#include "services/ingress/job_line.h"
#include "spdlog/spdlog.h"

namespace sluice::ingress {

struct JobRunner::Job {
  const kafka::Message* message = nullptr;
  std::string custom_id;
  std::string body;
  std::string authorization;
  std::string tenant;  // empty when the key is not valid
  absl::Time deadline;
  int attempts = 0;
  // Tries that failed retryably and count against max_attempts (waiting
  // for a limit does not).
  int failures = 0;
  // The last try.
  int status_code = 0;
  std::string request_id;
  std::string answer_json;
  bool retryable = false;
  // Set when the last try was refused by a rate limit (the key's, the
  // tenant's, or the provider's queue): wait this long, then try again
  // without counting it a failure. Batch work waits for capacity; it is
  // not dropped for lack of it.
  std::optional<absl::Duration> wait_for;
  // The outcome: an output line, or why the job goes to the dead letters.
  std::string result_line;
  std::string dead_reason;

  std::string id() const { return absl::StrCat(tenant, "/", custom_id); }
};

namespace {

// The longest a job waits for a limit before looking again.
constexpr absl::Duration kLongestLimitWait = absl::Seconds(30);

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

// Whether a later try could succeed: the provider or sluice was busy or
// failing, and the job's deadline has not passed.
bool Retryable(const sluice::v1::Error& error) {
  switch (error.http_status()) {
    case 429:
      return error.code() != "insufficient_quota";
    case 499:  // cancelled: this gateway stopping
    case 500:
    case 502:
    case 503:
      return true;
    default:
      return false;
  }
}

// Writes a try's answer into its job and counts it down.
class JobFace final : public UnaryFace {
 public:
  JobFace(JobRunner::Job* job, absl::BlockingCounter* answered)
      : job_(job), answered_(answered) {}

  void Answer(sluice::v1::ChatResponse response, RequestRecord& record,
              const std::string&) override {
    job_->status_code = 200;
    job_->request_id = record.request_id();
    job_->answer_json = codec::WriteChatResponse(response);
    job_->retryable = false;
    job_->wait_for.reset();
    answered_->DecrementCount();
  }
  void Fail(const absl::Status& status, RequestRecord& record) override {
    sluice::v1::Error error = status::ErrorFromStatus(status);
    job_->status_code = error.http_status();
    job_->request_id = record.request_id();
    job_->answer_json = status::OpenAIErrorJson(error);
    job_->retryable = Retryable(error) && absl::Now() < job_->deadline;
    job_->wait_for.reset();
    if (job_->retryable && error.http_status() == 429) {
      job_->wait_for = status::RetryAfterOf(status).value_or(absl::Seconds(1));
    }
    answered_->DecrementCount();
  }

 private:
  JobRunner::Job* const job_;
  absl::BlockingCounter* const answered_;
};

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
    kafka::Producer* producer, JobStore* store) {
  std::unique_ptr<JobRunner> runner(
      new JobRunner(options, edge, usage, producer, store));
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
  absl::Status started = runner->consumer_->StartBatches(
      [self](const std::vector<kafka::Message>& batch) {
        return self->HandleBatch(batch);
      },
      options.concurrency);
  if (!started.ok()) return started;
  return runner;
}

JobRunner::~JobRunner() { Stop(); }

void JobRunner::Stop() {
  stopping_.store(true);
  if (consumer_ != nullptr) consumer_->Stop();
}

void JobRunner::TryAll(const std::vector<Job*>& jobs) {
  absl::BlockingCounter answered(static_cast<int>(jobs.size()));
  for (Job* job : jobs) {
    ++job->attempts;
    auto record = std::make_shared<RequestRecord>(usage_, RequestIdFor(""),
                                                  /*stream=*/false);
    absl::StatusOr<sluice::v1::ChatRequest> request =
        codec::ParseChatRequest(job->body);
    if (request.ok() && request->stream()) {
      request = status::InvalidRequest("jobs cannot be streamed", "stream");
    }
    RequestHeaders headers;
    headers.authorization = job->authorization;
    headers.batch = true;
    host::CallContextPtr context = host::CallContext::Create(
        {job->deadline, record->request_id(), "", {}});
    edge_->Unary(std::move(context), headers, std::move(request), std::move(record),
                 std::make_unique<JobFace>(job, &answered));
  }
  answered.Wait();
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
    job->body = std::move(line->body);
    job->deadline = *deadline;
    job->authorization = std::string(message.Header("authorization"));
    if (absl::StatusOr<Caller> caller =
            edge_->admission().auth().Authenticate(job->authorization);
        caller.ok()) {
      job->tenant = caller->tenant;
    }
    if (!job->tenant.empty()) {
      absl::StatusOr<std::optional<std::string>> stored = store_->Result(job->id());
      if (!stored.ok()) return stored.status();  // the batch comes back
      if (stored->has_value()) {
        job->result_line = **stored;  // redelivered: answered before
        jobs.push_back(std::move(job));
        continue;
      }
    }
    to_run.push_back(job.get());
    jobs.push_back(std::move(job));
  }

  absl::Duration backoff = options_.retry_backoff;
  while (!to_run.empty()) {
    if (stopping_.load()) return absl::UnavailableError("jobs: stopping");
    TryAll(to_run);
    if (stopping_.load()) return absl::UnavailableError("jobs: stopping");
    std::vector<Job*> again;
    absl::Duration pause = absl::ZeroDuration();
    for (Job* job : to_run) {
      if (job->retryable && job->wait_for.has_value()) {
        again.push_back(job);  // a limit: wait for it, not a failure
        pause = std::max(pause, std::min(*job->wait_for, kLongestLimitWait));
      } else if (job->retryable && ++job->failures < options_.max_attempts) {
        again.push_back(job);
        pause = std::max(pause, backoff);
      } else if (job->retryable) {
        job->dead_reason = absl::StrCat("no answer after ", job->failures,
                                        " failed tries; the last: HTTP ",
                                        job->status_code, " ", job->answer_json);
      } else {
        job->result_line = JobResultLine(job->request_id, job->custom_id,
                                         job->status_code, job->answer_json);
        // Only jobs of a known tenant are kept: an unknown key's 401 costs
        // nothing to answer again.
        if (!job->tenant.empty()) {
          if (absl::Status stored = store_->Store(job->id(), job->result_line);
              !stored.ok()) {
            return stored;
          }
        }
      }
    }
    to_run = std::move(again);
    if (!to_run.empty()) {
      absl::SleepFor(pause);
      backoff *= 2;
    }
  }

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
                                           job->attempts),
                         on_delivery);
    }
  }
  acks.Wait();
  absl::MutexLock lock(&mu);
  return delivered;
}

}  // namespace sluice::ingress
