// Admission by rate: each chat request reserves one request and its
// estimated tokens (prompt, by bytes, plus max_tokens) against its tenant's
// per-minute limits before it is routed, and settles to the real usage when
// it finishes. Counted in Redis when configured (one atomic Lua script per
// call: the limit holds across ingress replicas), else in this process.
// A refused request gets 429 with Retry-After; every response carries the
// x-ratelimit-* headers of its tenant's limits.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "libs/ratelimit/limiter.h"
#include "libs/redis/redis_client.h"
#include "services/ingress/request_record.h"
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
  // x-ratelimit-* headers to the record. Tenants without limits pass at
  // once.
  void Admit(const RequestRecordPtr& record,
             const sluice::v1::ChatRequest& request,
             std::function<void(absl::Status)> next);

 private:
  RateGate() = default;

  absl::flat_hash_map<std::string, ratelimit::Limits> limits_;
  bool fail_closed_ = false;
  std::unique_ptr<redis::RedisClient> redis_;
  ratelimit::LimiterPtr limiter_;
};

// Tokens a request may use, before it is answered: its text by bytes (about
// four a token) plus the completion limit it asks for.
int64_t EstimatedTokens(const sluice::v1::ChatRequest& request);

}  // namespace sluice::ingress
