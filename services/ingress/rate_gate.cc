#include "services/ingress/rate_gate.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"
#include "libs/config/duration.h"
#include "libs/obs/metrics.h"
#include "libs/status/errors.h"

namespace sluice::ingress {
namespace {

// How long startup waits for the admission Redis before going on.
constexpr absl::Duration kConnectWait = absl::Seconds(3);

// OpenAI's duration format for x-ratelimit-reset-*: "6m0s", "1.5s", "20ms".
std::string ResetText(absl::Duration d) {
  if (d < absl::Seconds(1)) {
    return absl::StrCat(absl::ToInt64Milliseconds(d), "ms");
  }
  int64_t seconds = absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)));
  if (seconds < 60) return absl::StrCat(seconds, "s");
  return absl::StrCat(seconds / 60, "m", seconds % 60, "s");
}

void AddHeaders(const ratelimit::Verdict& verdict, http::Headers& headers) {
  if (verdict.limit_requests > 0) {
    headers.emplace_back("x-ratelimit-limit-requests",
                         absl::StrCat(verdict.limit_requests));
    headers.emplace_back("x-ratelimit-remaining-requests",
                         absl::StrCat(verdict.remaining_requests));
    headers.emplace_back("x-ratelimit-reset-requests",
                         ResetText(verdict.reset_requests));
  }
  if (verdict.limit_tokens > 0) {
    headers.emplace_back("x-ratelimit-limit-tokens",
                         absl::StrCat(verdict.limit_tokens));
    headers.emplace_back("x-ratelimit-remaining-tokens",
                         absl::StrCat(verdict.remaining_tokens));
    headers.emplace_back("x-ratelimit-reset-tokens",
                         ResetText(verdict.reset_tokens));
  }
}

obs::Counter& UnavailableCounter() {
  static obs::Counter& counter = obs::MetricsRegistry::Default().counter(
      "sluice_ratelimit_unavailable_total",
      "Requests whose rate limits could not be checked (Redis down or slow).");
  return counter;
}

obs::Counter& LedgersLostCounter() {
  static obs::Counter& counter = obs::MetricsRegistry::Default().counter(
      "sluice_ratelimit_ledgers_unknown_total",
      "Budgeted requests that found the admission Redis without its budget "
      "ledgers (restarted empty) and were answered 503 until they were "
      "restored from metering.");
  return counter;
}

// A refusal in OpenAI's terms; the subject ("key:..." or "tenant:...") is
// named so the caller knows which limit to raise.
absl::Status DenialStatus(const ratelimit::Verdict& verdict) {
  if (verdict.reason == ratelimit::kInsufficientQuota) {
    return status::QuotaExceeded(absl::StrCat(
        "You exceeded your current quota: the budget of ", verdict.denied_by,
        " is spent."));
  }
  return status::RateLimited(
      absl::StrCat("Rate limit reached for ", verdict.denied_by, " on ",
                   verdict.denied_limit == "tpm" ? "tokens per minute"
                                                 : "requests per minute",
                   ". Please try again later."),
      verdict.retry_after == absl::InfiniteDuration() ? absl::Minutes(1)
                                                      : verdict.retry_after);
}

// What a finished request settles its reservation to.
ratelimit::Ask ActualOf(const sluice::v1::UsageEvent& event) {
  ratelimit::Ask actual;
  actual.tokens = event.usage().total_tokens();
  actual.micro_usd = event.decision().price_micro_usd();
  return actual;
}

}  // namespace

int64_t PromptByteBound(const sluice::v1::ChatRequest& request) {
  size_t bytes = request.tools_json().size();
  for (const sluice::v1::Message& message : request.messages()) {
    bytes += message.text().size();
    if (message.has_parts()) {
      for (const auto& part : message.parts().parts()) {
        bytes += part.text().size() + part.raw_json().size();
      }
    }
  }
  return static_cast<int64_t>(bytes) + 2;
}

int64_t CompletionLimit(const sluice::v1::ChatRequest& request) {
  int64_t limit = request.has_max_completion_tokens()
                      ? request.max_completion_tokens()
                      : request.has_max_tokens() ? request.max_tokens() : 0;
  return std::max<int64_t>(0, limit);
}

absl::StatusOr<std::unique_ptr<RateGate>> RateGate::Create(
    const sluice::v1::Config& config) {
  std::unique_ptr<RateGate> gate(new RateGate(config));
  gate->spend_ = std::make_unique<SpendEstimator>(config);
  for (const sluice::v1::TenantConfig& tenant : config.tenants()) {
    ratelimit::Limits limits;
    limits.rpm = tenant.limits().rpm();
    limits.tpm = tenant.limits().tpm();
    limits.budget_micro_usd =
        std::llround(tenant.limits().budget_usd() * 1e6);
    if (limits.rpm > 0 || limits.tpm > 0 || limits.budget_micro_usd > 0) {
      gate->limits_[tenant.name()] = limits;
    }
  }
  gate->fail_closed_ = config.admission().fail_closed();
  if (!config.admission().redis().empty()) {
    redis::RedisOptions options;
    options.address = config.admission().redis();
    options.command_timeout = config::DurationOr(
        config.admission().redis_timeout(), absl::Milliseconds(100));
    absl::StatusOr<std::unique_ptr<redis::RedisClient>> client =
        redis::RedisClient::Create(options);
    if (!client.ok()) return client.status();
    gate->redis_ = *std::move(client);
    // Limits hold from the first request: ready only once connected (or
    // after the wait, when Redis is down and fail_closed decides).
    absl::Time deadline = absl::Now() + kConnectWait;
    while (!gate->redis_->connected() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    if (!gate->redis_->connected()) {
      spdlog::warn("admission: redis {} not reachable yet; requests are {}",
                   options.address,
                   gate->fail_closed_ ? "refused (fail_closed)"
                                      : "admitted unchecked");
    }
    ratelimit::LimiterOptions limiter_options;
    limiter_options.require_known_ledgers = true;
    gate->limiter_ =
        ratelimit::NewRedisLimiter(gate->redis_.get(), limiter_options);
    if (!gate->fail_closed_) gate->fallback_ = ratelimit::NewLocalLimiter();
  } else {
    gate->limiter_ = ratelimit::NewLocalLimiter();
  }
  gate->settles_ = std::make_unique<SettleRetries>(gate->limiter_.get());
  return gate;
}

RateGate::RateGate(const sluice::v1::Config& config)
    : routes_(config), counter_(tokenizer::DefaultVocabDir()) {
  // The router's counting knobs: the ingress counts as many prompts (for
  // callers with token limits or budgets) as the router may.
  const sluice::v1::RouterConfig& router = config.router();
  int threads = router.counting_threads() > 0 ? router.counting_threads() : 2;
  size_t queue = router.has_counting_queue()
                     ? static_cast<size_t>(std::max(0, router.counting_queue()))
                     : 64;
  counting_ = std::make_unique<io::BoundedPool>(threads, queue, /*nice=*/10);
  // Vocabularies load on a counting thread now rather than on the first
  // limited request's clock (they are shared with the router's counter).
  for (const sluice::v1::ModelSpec& spec : config.models()) {
    std::string name = spec.tokenizer();
    counting_->TrySubmit(
        [this, name] { counter_.Preload(name).IgnoreError(); });
  }
}

RateGate::~RateGate() {
  // No retry calls the limiter from here on; its Redis client's last
  // callbacks still find the retries (and are dropped).
  if (settles_ != nullptr) settles_->Stop();
}

std::pair<std::string, std::string> RateGate::VocabularyOf(
    const sluice::v1::ChatRequest& request, const std::string& tenant) const {
  absl::StatusOr<routing::RoutePlan> plan =
      routes_.Resolve(request.model(), tenant, "");
  const sluice::v1::ModelSpec* spec =
      plan.ok() ? plan->TokenizerSpec() : nullptr;
  if (spec == nullptr) return {"", ""};  // the default vocabulary, template
  return {spec->tokenizer(), spec->chat_template()};
}

int64_t RateGate::PromptBound(const sluice::v1::ChatRequest& request,
                              const std::string& tenant) const {
  absl::StatusOr<int64_t> bound = tokenizer::TokenCounter::PromptTokenBound(
      request, VocabularyOf(request, tenant).second);
  return bound.ok() ? *bound : PromptByteBound(request);
}

int64_t RateGate::PromptTokens(const sluice::v1::ChatRequest& request,
                               const std::string& tenant) {
  auto [tokenizer, chat_template] = VocabularyOf(request, tenant);
  absl::StatusOr<tokenizer::PromptCount> count =
      counter_.CountPromptOnly(request, tokenizer, chat_template);
  return count.ok() ? count->prompt_tokens : PromptBound(request, tenant);
}

absl::Status RateGate::Ready() const {
  if (fail_closed_ && redis_ != nullptr && !redis_->connected()) {
    return absl::UnavailableError("the admission redis is not connected");
  }
  return absl::OkStatus();
}

std::vector<ratelimit::Subject> RateGate::SubjectsOf(
    const Caller& caller) const {
  std::vector<ratelimit::Subject> subjects;
  const keystore::KeyPolicy& policy = caller.policy;
  if (policy.rpm > 0 || policy.tpm > 0 || policy.budget_micro_usd > 0) {
    subjects.push_back({absl::StrCat("key:", caller.key_id),
                        {policy.rpm, policy.tpm, policy.budget_micro_usd}});
  }
  if (auto it = limits_.find(caller.tenant); it != limits_.end()) {
    subjects.push_back({absl::StrCat("tenant:", it->first), it->second});
  }
  return subjects;
}

void RateGate::AdmitRequestOnly(const RequestRecordPtr& record,
                                const Caller& caller,
                                std::function<void(absl::Status)> next) {
  std::vector<ratelimit::Subject> subjects;
  for (ratelimit::Subject& subject : SubjectsOf(caller)) {
    if (subject.limits.rpm <= 0) continue;
    subject.limits = ratelimit::Limits{subject.limits.rpm, 0, 0};
    subjects.push_back(std::move(subject));
  }
  if (subjects.empty()) return next(absl::OkStatus());
  Reserve(record, std::move(subjects), ratelimit::Ask{}, std::move(next));
}

void RateGate::Admit(const RequestRecordPtr& record, const Caller& caller,
                     const sluice::v1::ChatRequest& request,
                     std::function<void(absl::Status)> next) {
  std::vector<ratelimit::Subject> subjects = SubjectsOf(caller);
  if (subjects.empty()) return next(absl::OkStatus());
  const bool tokens_matter =
      std::any_of(subjects.begin(), subjects.end(), [](const auto& subject) {
        return subject.limits.tpm > 0 || subject.limits.budget_micro_usd > 0;
      });
  if (!tokens_matter) {
    return ReserveChat(record, caller, request, std::move(subjects), 0,
                       std::move(next));
  }
  // Counted off this (I/O) thread. The job owns what it needs; `request`
  // lives until `next` is called.
  struct Job {
    RequestRecordPtr record;
    Caller caller;
    std::vector<ratelimit::Subject> subjects;
    std::function<void(absl::Status)> next;
  };
  auto job = std::make_shared<Job>(
      Job{record, caller, std::move(subjects), std::move(next)});
  const sluice::v1::ChatRequest* counted = &request;
  if (!counting_->TrySubmit([this, job, counted] {
        ReserveChat(job->record, job->caller, *counted,
                    std::move(job->subjects),
                    PromptTokens(*counted, job->caller.tenant),
                    std::move(job->next));
      })) {
    // Every counter busy: the byte bound, as routing would decide on.
    ReserveChat(job->record, job->caller, request, std::move(job->subjects),
                PromptBound(request, job->caller.tenant), std::move(job->next));
  }
}

void RateGate::ReserveChat(const RequestRecordPtr& record,
                           const Caller& caller,
                           const sluice::v1::ChatRequest& request,
                           std::vector<ratelimit::Subject> subjects,
                           int64_t prompt,
                           std::function<void(absl::Status)> next) {
  ratelimit::Ask ask;
  const int64_t completion = CompletionLimit(request);
  ask.tokens = prompt + completion;
  ask.micro_usd =
      spend_->MaxMicroUsd(request.model(), caller.tenant, prompt, completion);
  Reserve(record, std::move(subjects), ask, std::move(next));
}

void RateGate::Reserve(const RequestRecordPtr& record,
                       std::vector<ratelimit::Subject> subjects,
                       const ratelimit::Ask& ask,
                       std::function<void(absl::Status)> next, bool marked) {
  std::string id = ratelimit::NewReservationId();
  limiter_->Reserve(
      subjects, ask,
      [this, record, id, subjects, ask, marked, next = std::move(next)](
          absl::StatusOr<ratelimit::Verdict> verdict) mutable {
        if (verdict.ok() && verdict->reason == ratelimit::kLedgersUnknown) {
          LedgersLostCounter().Increment();
          if (restore_ledgers_ == nullptr && !marked) {
            // Nothing to restore them from: known as they are (the mark
            // goes before the second reserve on the same connection).
            limiter_->RestoreLedgers({});
            return Reserve(record, std::move(subjects), ask, std::move(next),
                           /*marked=*/true);
          }
          if (restore_ledgers_ != nullptr) restore_ledgers_();
          return next(absl::UnavailableError(
              "budgets are being restored after the admission redis lost "
              "them; retry shortly"));
        }
        if (verdict.ok()) {
          AddHeaders(*verdict, record->headers());
          if (!verdict->admitted) return next(DenialStatus(*verdict));
          SettleOnFinish(record, verdict->reservation);
          return next(absl::OkStatus());
        }
        UnavailableCounter().Increment();
        // The reserve may have run all the same (its reply came too late):
        // settling its id then corrects the estimate it charged.
        SettleOnFinish(record, id);
        if (fail_closed_) {
          return next(
              absl::UnavailableError("rate limits cannot be checked now"));
        }
        if (fallback_ == nullptr) return next(absl::OkStatus());
        ReserveOnThisReplica(record, subjects, ask, std::move(next));
      },
      id);
}

void RateGate::ReserveOnThisReplica(
    const RequestRecordPtr& record,
    const std::vector<ratelimit::Subject>& subjects, const ratelimit::Ask& ask,
    std::function<void(absl::Status)> next) {
  ratelimit::Limiter* limiter = fallback_.get();
  // The local limiter answers at once and never fails.
  limiter->Reserve(subjects, ask,
                   [record, limiter, next = std::move(next)](
                       absl::StatusOr<ratelimit::Verdict> verdict) mutable {
                     if (!verdict.ok()) return next(absl::OkStatus());
                     AddHeaders(*verdict, record->headers());
                     if (!verdict->admitted) {
                       return next(DenialStatus(*verdict));
                     }
                     record->OnFinish(
                         [limiter, id = verdict->reservation](
                             const sluice::v1::UsageEvent& event) {
                           limiter->Settle(id, ActualOf(event),
                                           [](absl::Status) {});
                         });
                     next(absl::OkStatus());
                   });
}

void RateGate::SettleOnFinish(const RequestRecordPtr& record,
                              std::string reservation) {
  record->OnFinish([settles = settles_.get(), reservation = std::move(reservation)](
                       const sluice::v1::UsageEvent& event) {
    settles->Settle(reservation, ActualOf(event));
  });
}

void RateGate::RestoreSpent(const std::map<std::string, int64_t>& tenants,
                            const std::map<std::string, int64_t>& keys) {
  std::vector<std::pair<std::string, int64_t>> spent;
  for (const auto& [tenant, micro_usd] : tenants) {
    spent.emplace_back(absl::StrCat("tenant:", tenant), micro_usd);
  }
  for (const auto& [key_id, micro_usd] : keys) {
    spent.emplace_back(absl::StrCat("key:", key_id), micro_usd);
  }
  limiter_->RestoreLedgers(spent);
  if (fallback_ != nullptr) fallback_->RestoreLedgers(spent);
}

}  // namespace sluice::ingress
