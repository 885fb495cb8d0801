// Admission by rate and budget: each chat request reserves one request, its
// estimated tokens (prompt, by bytes, plus max_tokens) and its estimated
// cost against the per-minute limits and USD budgets of its key and its
// tenant, all at once, before it is routed; it settles to the real usage
// and price when it finishes. Counted in Redis when configured (one atomic
// Lua script per call: limits hold across ingress replicas), else in this
// process. A refused request gets 429 (rate_limit_exceeded with
// Retry-After, or insufficient_quota); every response carries the
// x-ratelimit-* headers of the tightest limits.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "libs/ratelimit/limiter.h"
#include "libs/redis/redis_client.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/request_record.h"
#include "services/ingress/spend_estimate.h"
#include "sluice/v1/chat.pb.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

class RateGate {
 public:
  static absl::StatusOr<std::unique_ptr<RateGate>> Create(
      const sluice::v1::Config& config);
  ~RateGate();

  // Calls `next` exactly once, maybe before returning: OK when admitted (the
  // record then settles on finish), else the status to answer with. Adds
  // x-ratelimit-* headers to the record. Callers with no limits on their
  // key or tenant pass at once.
  void Admit(const RequestRecordPtr& record, const Caller& caller,
             const sluice::v1::ChatRequest& request,
             std::function<void(absl::Status)> next);

  // UNAVAILABLE when limits fail closed and their Redis is not connected
  // (requests would be refused).
  absl::Status Ready() const;

 private:
  RateGate() = default;

  std::unique_ptr<SpendEstimator> spend_;
  absl::flat_hash_map<std::string, ratelimit::Limits> limits_;
  bool fail_closed_ = false;
  std::unique_ptr<redis::RedisClient> redis_;
  ratelimit::LimiterPtr limiter_;
};

// Prompt tokens of a request before it is counted: its text by bytes (about
// four a token).
int64_t EstimatedPromptTokens(const sluice::v1::ChatRequest& request);
// The completion limit it asks for (max_completion_tokens, else
// max_tokens), 0 when none.
int64_t CompletionLimit(const sluice::v1::ChatRequest& request);

}  // namespace sluice::ingress
