#include "services/ingress/job_tries.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"
#include "libs/status/openai_error.h"

namespace sluice::ingress {
namespace {

// The longest a job waits for a limit before looking again.
constexpr absl::Duration kLongestLimitWait = absl::Seconds(30);

// Whether a later try could succeed: the provider or sluice was busy or
// failing.
bool Retryable(const sluice::v1::Error& error) {
  switch (error.http_status()) {
    case 429:
      return error.code() != "insufficient_quota";
    case 499:  // cancelled: this gateway stopping
    case 500:
    case 502:
    case 503:
    case 504:  // the try's own timeout, or the provider's
      return true;
    default:
      return false;
  }
}

// Writes a try's answer into its job and counts it down.
class TryFace final : public UnaryFace {
 public:
  TryFace(JobTry* job, absl::BlockingCounter* answered)
      : job_(job), answered_(answered) {}

  void Answer(sluice::v1::ChatResponse response, RequestRecord& record,
              const std::string&) override {
    job_->status_code = 200;
    job_->request_id = record.request_id();
    job_->answer_json = codec::WriteChatResponse(response);
    job_->usage = response.usage();
    job_->route = response.route();
    job_->price_micro_usd = response.decision().price_micro_usd();
    job_->final_answer = true;
    job_->retryable = false;
    job_->wait_for.reset();
    answered_->DecrementCount();
  }
  void Fail(const absl::Status& status, RequestRecord& record) override {
    sluice::v1::Error error = status::ErrorFromStatus(status);
    job_->status_code = error.http_status();
    job_->request_id = record.request_id();
    job_->answer_json = status::OpenAIErrorJson(error);
    job_->usage.Clear();
    job_->route.clear();
    job_->price_micro_usd = 0;
    job_->retryable = Retryable(error) && absl::Now() < job_->deadline;
    job_->final_answer = !job_->retryable;
    job_->wait_for.reset();
    if (job_->retryable && error.http_status() == 429) {
      job_->wait_for = status::RetryAfterOf(status).value_or(absl::Seconds(1));
    }
    answered_->DecrementCount();
  }

 private:
  JobTry* const job_;
  absl::BlockingCounter* const answered_;
};

}  // namespace

void JobTries::TryAll(const std::vector<JobTry*>& jobs) const {
  absl::BlockingCounter answered(static_cast<int>(jobs.size()));
  for (JobTry* job : jobs) {
    ++job->attempts;
    auto record = std::make_shared<RequestRecord>(usage_, "",
                                                  /*stream=*/false);
    absl::StatusOr<sluice::v1::ChatRequest> request = codec::ParseChatRequest(job->body);
    if (request.ok() && request->stream()) {
      request = status::InvalidRequest("batch work cannot be streamed", "stream");
    }
    RequestHeaders headers;
    headers.authorization = job->authorization;
    headers.key_sha256 = job->key_sha256;
    headers.batch = true;
    job->priced_at = clock_->Now();  // as the edge stamps it, on the same clock
    absl::Time deadline = std::min(job->deadline, absl::Now() + job->try_timeout);
    host::CallContextPtr context =
        host::CallContext::Create({deadline, record->request_id(), "", {}});
    edge_->Unary(std::move(context), headers, std::move(request), std::move(record),
                 std::make_unique<TryFace>(job, &answered));
  }
  answered.Wait();
}

absl::Status JobTries::Run(const std::vector<JobTry*>& jobs,
                           const std::function<bool()>& stop,
                           const OnDone& on_done) const {
  std::vector<JobTry*> to_run = jobs;
  absl::Duration backoff = backoff_;
  while (!to_run.empty()) {
    if (stop()) return absl::UnavailableError("stopped");
    TryAll(to_run);
    if (stop()) {
      // Tries cut short by the stop are not failures of their jobs: keep
      // only the answers that are final (they were metered).
      std::vector<JobTry*> answered;
      for (JobTry* job : to_run) {
        if (job->final_answer) answered.push_back(job);
      }
      if (!answered.empty()) {
        if (absl::Status recorded = on_done(answered); !recorded.ok()) return recorded;
      }
      return absl::UnavailableError("stopped");
    }
    std::vector<JobTry*> again;
    std::vector<JobTry*> done;
    absl::Duration pause = absl::ZeroDuration();
    for (JobTry* job : to_run) {
      if (job->retryable && job->wait_for.has_value()) {
        again.push_back(job);  // a limit: wait for it, not a failure
        pause = std::max(pause, std::min(*job->wait_for, kLongestLimitWait));
      } else if (job->retryable && ++job->failures < max_attempts_) {
        again.push_back(job);
        pause = std::max(pause, backoff);
      } else {
        if (job->retryable) {
          job->exhausted = absl::StrCat("no answer after ", job->failures,
                                        " failed tries; the last: HTTP ",
                                        job->status_code, " ", job->answer_json);
        }
        done.push_back(job);
      }
    }
    if (!done.empty()) {
      if (absl::Status recorded = on_done(done); !recorded.ok()) return recorded;
    }
    to_run = std::move(again);
    if (!to_run.empty()) {
      // In slices: a stopping gateway does not wait out a long Retry-After.
      for (absl::Time until = absl::Now() + pause; absl::Now() < until && !stop();) {
        absl::SleepFor(std::min(until - absl::Now(), absl::Milliseconds(100)));
      }
      backoff *= 2;
    }
  }
  return absl::OkStatus();
}

}  // namespace sluice::ingress
