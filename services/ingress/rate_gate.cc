#include "services/ingress/rate_gate.h"

#include <algorithm>
#include <cmath>
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

}  // namespace

int64_t EstimatedPromptTokens(const sluice::v1::ChatRequest& request) {
  size_t bytes = request.tools_json().size();
  for (const sluice::v1::Message& message : request.messages()) {
    bytes += message.text().size();
    if (message.has_parts()) {
      for (const auto& part : message.parts().parts()) {
        bytes += part.text().size() + part.raw_json().size();
      }
    }
  }
  return static_cast<int64_t>((bytes + 3) / 4);
}

int64_t CompletionLimit(const sluice::v1::ChatRequest& request) {
  int64_t limit = request.has_max_completion_tokens()
                      ? request.max_completion_tokens()
                      : request.has_max_tokens() ? request.max_tokens() : 0;
  return std::max<int64_t>(0, limit);
}

absl::StatusOr<std::unique_ptr<RateGate>> RateGate::Create(
    const sluice::v1::Config& config) {
  std::unique_ptr<RateGate> gate(new RateGate());
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
    gate->limiter_ = ratelimit::NewRedisLimiter(gate->redis_.get());
  } else {
    gate->limiter_ = ratelimit::NewLocalLimiter();
  }
  return gate;
}

RateGate::~RateGate() = default;

absl::Status RateGate::Ready() const {
  if (fail_closed_ && redis_ != nullptr && !redis_->connected()) {
    return absl::UnavailableError("the admission redis is not connected");
  }
  return absl::OkStatus();
}

void RateGate::Admit(const RequestRecordPtr& record, const Caller& caller,
                     const sluice::v1::ChatRequest& request,
                     std::function<void(absl::Status)> next) {
  std::vector<ratelimit::Subject> subjects;
  const keystore::KeyPolicy& policy = caller.policy;
  if (policy.rpm > 0 || policy.tpm > 0 || policy.budget_micro_usd > 0) {
    subjects.push_back({absl::StrCat("key:", caller.key_id),
                        {policy.rpm, policy.tpm, policy.budget_micro_usd}});
  }
  if (auto it = limits_.find(caller.tenant); it != limits_.end()) {
    subjects.push_back({absl::StrCat("tenant:", it->first), it->second});
  }
  if (subjects.empty()) return next(absl::OkStatus());
  ratelimit::Ask ask;
  const int64_t prompt = EstimatedPromptTokens(request);
  const int64_t completion = CompletionLimit(request);
  ask.tokens = prompt + completion;
  ask.micro_usd =
      spend_->MaxMicroUsd(request.model(), caller.tenant, prompt, completion);
  ratelimit::Limiter* limiter = limiter_.get();
  bool fail_closed = fail_closed_;
  limiter->Reserve(
      subjects, ask,
      [record, limiter, fail_closed, next = std::move(next)](
          absl::StatusOr<ratelimit::Verdict> verdict) {
        if (!verdict.ok()) {
          UnavailableCounter().Increment();
          return next(fail_closed ? absl::UnavailableError(
                                        "rate limits cannot be checked now")
                                  : absl::OkStatus());
        }
        AddHeaders(*verdict, record->headers());
        if (!verdict->admitted) return next(DenialStatus(*verdict));
        std::string reservation = verdict->reservation;
        record->OnFinish([limiter, reservation](
                             const sluice::v1::UsageEvent& event) {
          ratelimit::Ask actual;
          actual.tokens = event.usage().total_tokens();
          actual.micro_usd = event.decision().price_micro_usd();
          limiter->Settle(reservation, actual, [](absl::Status) {});
        });
        next(absl::OkStatus());
      });
}

}  // namespace sluice::ingress
