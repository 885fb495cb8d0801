#include "services/router/router_core.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/obs/logging.h"
#include "libs/status/errors.h"
#include "libs/cache_policy/cache_policy.h"
#include "services/router/price_windows.h"
#include "services/router/pricing.h"

namespace sluice::router {
namespace {

const char* StrategyName(sluice::v1::RouteStrategy strategy) {
  switch (strategy) {
    case sluice::v1::ROUTE_STRATEGY_COST:
      return "cost";
    case sluice::v1::ROUTE_STRATEGY_LATENCY:
      return "latency";
    case sluice::v1::ROUTE_STRATEGY_WEIGHTED:
      return "weighted";
    default:
      return "priority";
  }
}

// Counting threads yield to the threads serving requests.
constexpr int kCountingNice = 10;

int64_t RequestedOutputTokens(const sluice::v1::ChatRequest& request) {
  if (request.has_max_completion_tokens()) return request.max_completion_tokens();
  if (request.has_max_tokens()) return request.max_tokens();
  return 0;
}

absl::BitGen& ThreadRng() {
  thread_local absl::BitGen rng;
  return rng;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RouterCore>> RouterCore::Create(
    const sluice::v1::Config& config, adapters::Adapters* adapters,
    cache::Cache* cache, RouterCoreOptions options) {
  for (const sluice::v1::ModelSpec& spec : config.models()) {
    if (absl::Status valid = ValidatePriceWindows(spec); !valid.ok()) {
      return valid;
    }
  }
  const sluice::v1::RouterConfig& router = config.router();
  if (router.counting_threads() > 0) {
    options.counting_threads = router.counting_threads();
  }
  if (router.has_counting_queue()) {
    options.counting_queue =
        static_cast<size_t>(std::max(0, router.counting_queue()));
  }
  std::unique_ptr<RouterCore> core(
      new RouterCore(config, adapters, cache, std::move(options)));
  absl::StatusOr<std::unique_ptr<TaskClassifier>> classifier =
      TaskClassifier::Create(config.router());
  if (!classifier.ok()) return classifier.status();
  core->classifier_ = *std::move(classifier);
  // Load the vocabularies now rather than on some request's clock (a large
  // one takes most of a second). A missing one is not fatal: counts fall
  // back to the default vocabulary's, and the request still goes through.
  absl::flat_hash_set<std::string> vocabularies = {""};
  for (const sluice::v1::ModelSpec& spec : config.models()) {
    vocabularies.insert(spec.tokenizer());
  }
  for (const std::string& name : vocabularies) {
    if (absl::Status loaded = core->counter_.Preload(name); !loaded.ok()) {
      obs::LogWarn({}, "tokenizer not loaded",
                   {{"tokenizer", name}, {"error", loaded.message()}});
    }
  }
  return core;
}

RouterCore::RouterCore(const sluice::v1::Config& config,
                       adapters::Adapters* adapters, cache::Cache* cache,
                       RouterCoreOptions options)
    : config_(config),
      table_(config),
      counter_(options.vocab_dir.empty() ? tokenizer::DefaultVocabDir()
                                         : options.vocab_dir),
      health_(HealthOptions::FromConfig(config.router().circuit_breaker()),
              options.metrics),
      metrics_(options.metrics),
      retry_(RetryOptions::FromConfig(config.router().retry())),
      adapters_(adapters),
      cache_(cache),
      counting_(options.counting_threads, options.counting_queue,
                kCountingNice) {
  for (const sluice::v1::TenantConfig& tenant : config.tenants()) {
    cache_policies_[tenant.name()] = tenant.cache();
  }
}

cache::Cache* RouterCore::CacheFor(const sluice::v1::ChatRequest& request) {
  if (cache_ == nullptr) return nullptr;
  auto policy = cache_policies_.find(request.context().tenant());
  cache_policy::CacheDecision decision = cache_policy::DecideCaching(
      request, policy == cache_policies_.end() ? nullptr : &policy->second);
  if (!decision.read && !decision.write) return nullptr;
  return cache_;
}

void RouterCore::Price(absl::string_view route, const sluice::v1::Usage& usage,
                       const sluice::v1::RequestContext& context,
                       sluice::v1::RouteDecision& decision) const {
  size_t slash = route.find('/');
  const sluice::v1::ModelSpec* spec =
      slash == absl::string_view::npos
          ? nullptr
          : table_.Spec(route.substr(0, slash), route.substr(slash + 1));
  auto policy = cache_policies_.find(context.tenant());
  PriceDecision(spec, usage, PricedAt(context),
                policy == cache_policies_.end()
                    ? 0.0
                    : policy->second.cached_price_fraction(),
                decision);
}

absl::StatusOr<std::string> RouterCore::ResolveModel(
    const sluice::v1::ChatRequest& request) const {
  absl::StatusOr<RoutePlan> plan =
      table_.Resolve(request.model(), request.context().tenant(), "");
  if (!plan.ok()) return plan.status();
  return std::move(plan->model);
}

void RouterCore::CountExactly(const sluice::v1::ChatRequest& request,
                              PreparedRoute& prepared) {
  absl::StatusOr<tokenizer::PromptCount> count = counter_.CountPromptOnly(
      request, prepared.tokenizer, prepared.chat_template);
  if (!count.ok()) return;  // the bound stands
  prepared.prompt_tokens = count->prompt_tokens;
  prepared.tokenizer = count->tokenizer;
  prepared.prompt_tokens_exact = true;
}

absl::StatusOr<int64_t> RouterCore::CountPrompt(
    const sluice::v1::ChatRequest& request) {
  absl::StatusOr<RoutePlan> plan =
      table_.Resolve(request.model(), request.context().tenant(), "");
  if (!plan.ok()) return plan.status();
  const sluice::v1::ModelSpec* spec = plan->TokenizerSpec();
  absl::StatusOr<tokenizer::PromptCount> count = counter_.CountPromptOnly(
      request, spec != nullptr ? spec->tokenizer() : "",
      spec != nullptr ? spec->chat_template() : "");
  if (!count.ok()) return count.status();
  return count->prompt_tokens;
}

absl::StatusOr<PreparedRoute> RouterCore::Prepare(
    const sluice::v1::ChatRequest& request, Counting counting,
    std::optional<int64_t> exact_prompt_tokens) {
  const std::string& tenant = request.context().tenant();
  // The prompt's bytes bound its token count from above, and its bytes
  // over the vocabulary's longest token from below; the tokenizer runs only
  // when a decision (the task class, a candidate's context window) falls
  // between the bounds. Counting is most of a short request's cost, and a
  // long one's count belongs on a counting thread (Counting::kBoundsOnly).
  absl::StatusOr<RoutePlan> base = table_.Resolve(request.model(), tenant, "");
  if (!base.ok()) return base.status();
  PreparedRoute prepared;
  if (const sluice::v1::ModelSpec* spec = base->TokenizerSpec()) {
    prepared.tokenizer = spec->tokenizer();
    prepared.chat_template = spec->chat_template();
  }
  tokenizer::PromptBounds bounds;
  bool bounded = false;
  if (exact_prompt_tokens.has_value()) {
    bounds.lower = bounds.upper = *exact_prompt_tokens;
    prepared.prompt_tokens_exact = true;
    bounded = true;
  } else {
    absl::StatusOr<tokenizer::PromptBounds> found = counter_.PromptTokenBounds(
        request, prepared.tokenizer, prepared.chat_template);
    if (found.ok()) {
      bounds = *found;
      bounded = true;
    }
  }
  // Settles what the bounds leave open: false when the caller counts.
  auto settle = [&]() -> bool {
    if (prepared.prompt_tokens_exact) return true;
    switch (counting) {
      case Counting::kBoundsOnly:
        prepared.needs_count = true;
        return false;
      case Counting::kInline:
        CountExactly(request, prepared);
        if (prepared.prompt_tokens_exact) {
          bounds.lower = bounds.upper = prepared.prompt_tokens;
        }
        return true;
      case Counting::kSettleWithBounds:
        return true;  // the upper bound decides
    }
    return true;
  };
  bool needs_class = request.context().task().empty();
  const int64_t threshold = classifier_->TokenThreshold(tenant);
  if (!bounded ||
      (needs_class && bounds.lower < threshold && bounds.upper >= threshold)) {
    if (!settle()) return prepared;
  }
  // Past the threshold by the lower bound already: the class is the same
  // whatever the count, so the lower bound classifies.
  prepared.prompt_tokens =
      bounds.lower >= threshold ? bounds.lower : bounds.upper;
  TaskDecision task =
      classifier_->Classify(request, tenant, prepared.prompt_tokens);
  absl::StatusOr<RoutePlan> plan =
      task.task.empty() ? std::move(base)
                        : table_.Resolve(request.model(), tenant, task.task);
  if (!plan.ok()) return plan.status();
  prepared.plan = *std::move(plan);

  RequestNeeds needs;
  needs.max_output_tokens = RequestedOutputTokens(request);
  needs.needs_tools = !request.tools_json().empty();
  if (!prepared.prompt_tokens_exact) {
    // A candidate fits by the upper bound, or misses by the lower one;
    // between the two only the count can tell.
    for (const Candidate& candidate : prepared.plan.candidates) {
      const int64_t window =
          candidate.spec != nullptr ? candidate.spec->context_window() : 0;
      if (window > 0 && bounds.upper + needs.max_output_tokens > window &&
          bounds.lower + needs.max_output_tokens <= window) {
        if (!settle()) return prepared;
        break;
      }
    }
  }
  // The count, or the upper bound: a candidate the lower bound rules out
  // is past the upper one too.
  prepared.prompt_tokens = bounds.upper;
  needs.prompt_tokens = bounds.upper;
  Ordering ordering = OrderCandidates(prepared.plan.strategy,
                                      prepared.plan.candidates, needs, health_,
                                      absl::Now(), ThreadRng());
  sluice::v1::RouteDecision& decision = prepared.decision;
  decision.set_task(task.task);
  decision.set_task_reason(task.reason);
  decision.set_strategy(StrategyName(prepared.plan.strategy));
  decision.set_prompt_tokens_estimate(prepared.prompt_tokens);
  decision.set_prompt_tokens_exact(prepared.prompt_tokens_exact);
  if (ordering.order.empty()) {
    if (!ordering.skipped.empty()) {
      return status::InvalidRequest(
          absl::StrCat("No model of `", request.model(),
                       "` can take this request: ",
                       absl::StrJoin(ordering.skipped, "; ")),
          "messages", "context_length_exceeded");
    }
    return absl::FailedPreconditionError(
        absl::StrCat("the route of `", request.model(), "` has no candidates"));
  }
  if (!ordering.skipped.empty()) {
    decision.set_reason(
        absl::StrCat("skipped ", absl::StrJoin(ordering.skipped, "; ")));
  }
  prepared.order = std::move(ordering.order);
  return prepared;
}

absl::StatusOr<sluice::v1::TokenCountResponse> RouterCore::CountTokens(
    const sluice::v1::ChatRequest& request) {
  absl::StatusOr<RoutePlan> plan =
      table_.Resolve(request.model(), request.context().tenant(), "");
  if (!plan.ok()) return plan.status();
  const sluice::v1::ModelSpec* spec = plan->TokenizerSpec();
  absl::StatusOr<tokenizer::PromptCount> count = counter_.CountPrompt(
      request, spec != nullptr ? spec->tokenizer() : "",
      spec != nullptr ? spec->chat_template() : "");
  if (!count.ok()) return count.status();
  sluice::v1::TokenCountResponse response;
  response.set_model(plan->model);
  response.set_tokenizer(count->tokenizer);
  response.set_prompt_tokens(count->prompt_tokens);
  response.set_template_tokens(count->template_tokens);
  return response;
}

namespace {

// `text`'s tokens in `tokenizer`; about four bytes a token for a vocabulary
// that failed to load.
int64_t CountOrGuess(tokenizer::TokenCounter& counter, absl::string_view text,
                     const std::string& tokenizer) {
  if (text.empty()) return 0;
  absl::StatusOr<int64_t> count = counter.CountText(text, tokenizer);
  return count.ok() ? *count : static_cast<int64_t>((text.size() + 3) / 4);
}

}  // namespace

sluice::v1::Usage RouterCore::EstimateUsage(
    const PreparedRoute& route, const sluice::v1::ChatRequest& request,
    absl::string_view completion_text, absl::string_view reasoning_text) {
  sluice::v1::Usage usage;
  usage.set_estimated(true);
  // Every kind is ours; cached tokens stay 0, the provider's cache unknown.
  usage.set_prompt_tokens_estimated(true);
  usage.set_completion_tokens_estimated(true);
  usage.set_cached_tokens_estimated(true);
  usage.set_reasoning_tokens_estimated(true);
  int64_t prompt_tokens = route.prompt_tokens;
  if (!route.prompt_tokens_exact) {
    absl::StatusOr<tokenizer::PromptCount> count = counter_.CountPromptOnly(
        request, route.tokenizer, route.chat_template);
    if (count.ok()) prompt_tokens = count->prompt_tokens;
  }
  usage.set_prompt_tokens(prompt_tokens);
  usage.set_completion_tokens(
      CountOrGuess(counter_, completion_text, route.tokenizer));
  usage.set_reasoning_tokens(
      CountOrGuess(counter_, reasoning_text, route.tokenizer));
  usage.set_total_tokens(usage.prompt_tokens() + usage.completion_tokens());
  return usage;
}

void RouterCore::CountUnreportedReasoning(const PreparedRoute& route,
                                          absl::string_view reasoning_text,
                                          sluice::v1::Usage& usage) {
  if (reasoning_text.empty() || usage.reasoning_tokens() > 0) return;
  usage.set_reasoning_tokens(
      std::min(CountOrGuess(counter_, reasoning_text, route.tokenizer),
               usage.completion_tokens()));
  usage.set_reasoning_tokens_estimated(true);
  usage.set_estimated(true);
}

}  // namespace sluice::router
