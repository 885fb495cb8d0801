// What every routed call shares: the route table, the task classifier, the
// token counter, the health board, retry options and provider metrics; and
// Prepare(), which turns a request into its decision and ordered candidates.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/io/bounded_pool.h"
#include "libs/tokenizer/chat_token_counter.h"
#include "services/adapters/adapters.h"
#include "services/cache/cache.h"
#include "services/router/attempt_loop.h"
#include "services/router/candidate_health.h"
#include "services/router/provider_metrics.h"
#include "libs/routing/route_table.h"
#include "services/router/task_classifier.h"
#include "sluice/v1/chat.pb.h"
#include "sluice/v1/config.pb.h"
#include "sluice/v1/router.pb.h"

namespace sluice::router {

using routing::RoutePlan;
using routing::RouteTable;

// A request ready to be executed.
struct PreparedRoute {
  sluice::v1::RouteDecision decision;
  RoutePlan plan;
  // Candidates in the order to try (those that cannot fit are gone).
  std::vector<Candidate> order;
  // The tokenizer and template the prompt was counted with, for estimates.
  std::string tokenizer;
  std::string chat_template;
  // The tokenizer's count, or an upper bound of it when no decision needed
  // the count (prompt_tokens_exact false).
  int64_t prompt_tokens = 0;
  bool prompt_tokens_exact = false;
  // Set by Prepare(.., Counting::kBoundsOnly) when a decision needs the
  // exact count: the caller counts (CountPrompt) and prepares again with
  // it; nothing else is filled in.
  bool needs_count = false;
};

// How Prepare learns a prompt's size when its bounds do not settle every
// decision (the task class's token threshold, a candidate's context
// window): bytes bound the count from above, bytes over the vocabulary's
// longest token from below, and most prompts need nothing more.
enum class Counting {
  kInline,            // count on the calling thread
  kBoundsOnly,        // return needs_count instead of counting
  kSettleWithBounds,  // decide with the upper bound (no counter free)
};

struct RouterCoreOptions {
  // Folder of ggml-vocab-*.gguf files; empty: tokenizer::DefaultVocabDir().
  std::string vocab_dir;
  // Health metrics registry; null: the default registry.
  obs::MetricsRegistry* metrics = nullptr;
  // Threads that count prompts (never an RPC callback thread), and how many
  // counts may wait for one before routing falls back to the bounds.
  int counting_threads = 2;
  size_t counting_queue = 64;
};

class RouterCore {
 public:
  // `config`, `adapters` and `cache` (null: no caching) must outlive the
  // core. Fails on a task rule RE2 rejects or a malformed price window.
  static absl::StatusOr<std::unique_ptr<RouterCore>> Create(
      const sluice::v1::Config& config, adapters::Adapters* adapters,
      cache::Cache* cache, RouterCoreOptions options = {});

  // The public model a request names, after aliases, for this tenant;
  // NOT_FOUND (model_not_found) when it has no route.
  absl::StatusOr<std::string> ResolveModel(
      const sluice::v1::ChatRequest& request) const;
  // `exact_prompt_tokens`: the prompt's count when the caller has it.
  absl::StatusOr<PreparedRoute> Prepare(
      const sluice::v1::ChatRequest& request,
      Counting counting = Counting::kInline,
      std::optional<int64_t> exact_prompt_tokens = std::nullopt);
  // The exact prompt count Prepare asked for (needs_count), as `request`'s
  // model's tokenizer and template count it; meant for a counting thread.
  absl::StatusOr<int64_t> CountPrompt(const sluice::v1::ChatRequest& request);
  // The prompt's tokens as the model's tokenizer counts them.
  absl::StatusOr<sluice::v1::TokenCountResponse> CountTokens(
      const sluice::v1::ChatRequest& request);
  // Usage counted by us for an answer the provider gave no usage for (the
  // prompt is counted now if routing only bounded it); `reasoning_text` is
  // the part of `completion_text` that reasoned.
  sluice::v1::Usage EstimateUsage(const PreparedRoute& route,
                                  const sluice::v1::ChatRequest& request,
                                  absl::string_view completion_text,
                                  absl::string_view reasoning_text = {});
  // The provider's `usage` without a count of the reasoning tokens it
  // relayed (vLLM, llama-server and our worker report none): counts
  // `reasoning_text` with the model's tokenizer, at most the completion
  // tokens, and flags that kind estimated. Otherwise leaves it unchanged.
  void CountUnreportedReasoning(const PreparedRoute& route,
                                absl::string_view reasoning_text,
                                sluice::v1::Usage& usage);

  // Prices `usage` of an answer served by `route` ("provider/model") for
  // the request of `context` (its tenant's cache fraction, at the prices of
  // when it was accepted) into `decision` (see pricing.h).
  void Price(absl::string_view route, const sluice::v1::Usage& usage,
             const sluice::v1::RequestContext& context,
             sluice::v1::RouteDecision& decision) const;

  // Null when no adapters are hosted or configured.
  adapters::Adapters* adapters() { return adapters_; }
  // Null when no cache service is hosted or configured: no caching.
  cache::Cache* cache() { return cache_; }
  // The cache to consult for `request`: null also when the tenant's policy
  // and the request say it may be neither read nor stored (most sampling
  // requests), which saves the cache's round trip.
  cache::Cache* CacheFor(const sluice::v1::ChatRequest& request);
  HealthBoard& health() { return health_; }
  // Where prompts are counted (Prepare's needs_count, CountTokens).
  io::BoundedPool& counting() { return counting_; }
  ProviderMetrics& metrics() { return metrics_; }
  const RetryOptions& retry() const { return retry_; }

 private:
  RouterCore(const sluice::v1::Config& config, adapters::Adapters* adapters,
             cache::Cache* cache, RouterCoreOptions options);
  // Counts the prompt into `prepared` with its tokenizer and template.
  void CountExactly(const sluice::v1::ChatRequest& request,
                    PreparedRoute& prepared);

  const sluice::v1::Config& config_;
  RouteTable table_;
  absl::flat_hash_map<std::string, sluice::v1::CachePolicy> cache_policies_;
  std::unique_ptr<TaskClassifier> classifier_;
  tokenizer::TokenCounter counter_;
  HealthBoard health_;
  ProviderMetrics metrics_;
  RetryOptions retry_;
  adapters::Adapters* adapters_;
  cache::Cache* cache_;
  io::BoundedPool counting_;  // last: its threads stop first
};

}  // namespace sluice::router
