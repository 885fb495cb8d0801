// Admission by rate and budget: each chat request reserves one request, its
// tokens (the prompt as its model's tokenizer counts it, plus max_tokens)
// and its estimated cost against the per-minute limits and USD budgets of
// its key and its tenant, all at once, before it is routed; it settles to
// the real usage and price when it finishes. The prompt is counted only
// for callers with a token limit or a budget, on counting threads (never
// the caller's I/O thread); when every counter is busy, or the prompt
// cannot be counted, its byte bound (bytes of the rendered prompt) is
// reserved instead, as the router decides on it. Counted in Redis when
// configured (one atomic Lua script per call: limits hold across ingress
// replicas), else in this process. A refused request gets 429 (rate_limit_exceeded with
// Retry-After, or insufficient_quota); every response carries the
// x-ratelimit-* headers of the tightest limits. When Redis cannot answer,
// limits fail closed (503) or, by default, fall back to this replica's own
// limiter; a reservation that timed out is settled all the same (it may
// have been made), and settles Redis fails are tried again.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "libs/io/bounded_pool.h"
#include "libs/ratelimit/limiter.h"
#include "libs/routing/route_table.h"
#include "libs/tokenizer/chat_token_counter.h"
#include "libs/redis/redis_client.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/request_record.h"
#include "services/ingress/settle_retries.h"
#include "services/ingress/spend_estimate.h"
#include "sluice/v1/chat.pb.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

class RateGate {
 public:
  // `config` must outlive the gate (its routes point into it).
  static absl::StatusOr<std::unique_ptr<RateGate>> Create(
      const sluice::v1::Config& config);
  ~RateGate();

  // Calls `next` exactly once, maybe before returning: OK when admitted (the
  // record then settles on finish), else the status to answer with. Adds
  // x-ratelimit-* headers to the record. Callers with no limits on their
  // key or tenant pass at once. `request` must stay alive until `next` is
  // called (it may be counted on a counting thread first).
  void Admit(const RequestRecordPtr& record, const Caller& caller,
             const sluice::v1::ChatRequest& request,
             std::function<void(absl::Status)> next);

  // Admission of a request that uses no tokens and costs nothing (a token
  // count): one request of its key's and tenant's per-minute request
  // limits; token limits and budgets do not apply. Calls `next` like
  // Admit().
  void AdmitRequestOnly(const RequestRecordPtr& record, const Caller& caller,
                        std::function<void(absl::Status)> next);

  // UNAVAILABLE when limits fail closed and their Redis is not connected
  // (requests would be refused).
  absl::Status Ready() const;

  // What metering has settled per tenant and per key (micro-USD, all
  // time): each budget ledger is raised to it, never lowered (see
  // SpendSync), and the ledgers are known again after a Redis that lost
  // them.
  void RestoreSpent(const std::map<std::string, int64_t>& tenants,
                    const std::map<std::string, int64_t>& keys);
  // Called (on a limiter thread; must not block) when the admission Redis
  // has lost its ledgers (restarted empty): budgeted requests are answered
  // 503 "retry" until RestoreSpent runs. Unset: the ledgers are marked
  // known at once (nothing to restore them from) and the request goes on.
  void SetLedgerRestorer(std::function<void()> restore) {
    restore_ledgers_ = std::move(restore);
  }

 private:
  explicit RateGate(const sluice::v1::Config& config);

  // The key's and the tenant's limits that apply to `caller`.
  std::vector<ratelimit::Subject> SubjectsOf(const Caller& caller) const;
  // Reserves `prompt` + the completion limit for `subjects`.
  void ReserveChat(const RequestRecordPtr& record, const Caller& caller,
                   const sluice::v1::ChatRequest& request,
                   std::vector<ratelimit::Subject> subjects, int64_t prompt,
                   std::function<void(absl::Status)> next);
  // Reserves `ask` for `subjects`, then calls `next` (on whatever thread the
  // limiter answers on). `marked` when the ledgers were just marked known
  // (the reserve is not tried a third time).
  void Reserve(const RequestRecordPtr& record,
               std::vector<ratelimit::Subject> subjects,
               const ratelimit::Ask& ask,
               std::function<void(absl::Status)> next, bool marked = false);
  // Reserves on fallback_ (Redis could not answer; limits fail open).
  void ReserveOnThisReplica(const RequestRecordPtr& record,
                            const std::vector<ratelimit::Subject>& subjects,
                            const ratelimit::Ask& ask,
                            std::function<void(absl::Status)> next);
  // Settles `reservation` of limiter_ to the request's usage when its
  // record finishes (again later while Redis fails it).
  void SettleOnFinish(const RequestRecordPtr& record, std::string reservation);
  // The tokenizer and chat template of the model the request names (its
  // first candidate's; empty: the defaults).
  std::pair<std::string, std::string> VocabularyOf(
      const sluice::v1::ChatRequest& request, const std::string& tenant) const;
  // The prompt's tokens as those count them, or its byte bound.
  int64_t PromptTokens(const sluice::v1::ChatRequest& request,
                       const std::string& tenant);
  int64_t PromptBound(const sluice::v1::ChatRequest& request,
                      const std::string& tenant) const;

  std::function<void()> restore_ledgers_;
  std::unique_ptr<SpendEstimator> spend_;
  absl::flat_hash_map<std::string, ratelimit::Limits> limits_;
  bool fail_closed_ = false;
  // Settles limiter_ did not take, tried again, and this replica's own
  // limits, for requests admitted while the admission Redis cannot be
  // reached and limits fail open: budgets and rates then hold per replica
  // (budgets raised to metering's figures like Redis's) instead of not at
  // all (null without Redis). Both before redis_: they outlive the Redis
  // client's last callbacks (the retries are stopped first, in ~RateGate).
  std::unique_ptr<SettleRetries> settles_;
  ratelimit::LimiterPtr fallback_;
  std::unique_ptr<redis::RedisClient> redis_;
  ratelimit::LimiterPtr limiter_;
  routing::RouteTable routes_;
  tokenizer::TokenCounter counter_;
  std::unique_ptr<io::BoundedPool> counting_;  // last: stops first
};

// An upper bound of a request's prompt tokens without a tokenizer: the
// bytes of its text (byte-level BPE makes no more tokens than bytes).
int64_t PromptByteBound(const sluice::v1::ChatRequest& request);
// The completion limit it asks for (max_completion_tokens, else
// max_tokens), 0 when none.
int64_t CompletionLimit(const sluice::v1::ChatRequest& request);

}  // namespace sluice::ingress
