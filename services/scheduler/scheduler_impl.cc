#include "services/scheduler/scheduler_impl.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/config/duration.h"
#include "libs/status/errors.h"
#include "libs/trace/active_span.h"
#include "spdlog/spdlog.h"

namespace sluice::scheduler {
namespace {

namespace asio = boost::asio;
using sluice::v1::AdapterRequest;
using sluice::v1::ChatChunk;
using sluice::v1::ChatRequest;
using sluice::v1::ChatResponse;

// Until the provider says, a prompt is about 4 bytes a token, plus the
// template's few tokens per message.
int64_t EstimatePromptTokens(const ChatRequest& request) {
  int64_t bytes = 0;
  for (const auto& message : request.messages()) {
    bytes += static_cast<int64_t>(message.text().size()) + 16;
    for (const auto& part : message.parts().parts()) {
      bytes += static_cast<int64_t>(part.text().size());
    }
  }
  return bytes / 4 + 1;
}

int64_t MaxCompletionTokens(const ChatRequest& request) {
  if (request.has_max_completion_tokens()) return request.max_completion_tokens();
  if (request.has_max_tokens()) return request.max_tokens();
  return 0;
}

// Passes a stream on and reports its usage to the scheduler when it ends.
class FinishingSink final : public host::Sink<ChatChunk> {
 public:
  FinishingSink(SchedulerImpl* scheduler, SchedulerImpl::Started started,
                host::Sink<ChatChunk>* sink)
      : scheduler_(scheduler), started_(std::move(started)), sink_(sink) {}

  void Start(host::FlowPtr flow) override { sink_->Start(std::move(flow)); }
  bool Next(ChatChunk chunk) override {
    if (first_) {
      first_ = false;
      chunk.mutable_decision()->set_queue_us(
          absl::ToInt64Microseconds(started_.waited));
    }
    if (chunk.has_usage()) {
      prompt_ = chunk.usage().prompt_tokens();
      completion_ = chunk.usage().completion_tokens();
      has_usage_ = true;
    }
    for (const auto& choice : chunk.choices()) {
      streamed_bytes_ += static_cast<int64_t>(choice.delta().text().size());
    }
    return sink_->Next(std::move(chunk));
  }
  void Done(absl::Status status) override {
    if (!has_usage_) {
      prompt_ = started_.estimated_prompt_tokens;
      completion_ = streamed_bytes_ / 4;
    }
    scheduler_->Finished(started_, prompt_, completion_, status);
    host::Sink<ChatChunk>* sink = sink_;
    delete this;
    sink->Done(std::move(status));
  }

 private:
  SchedulerImpl* const scheduler_;
  const SchedulerImpl::Started started_;
  host::Sink<ChatChunk>* const sink_;
  bool first_ = true;
  bool has_usage_ = false;
  int64_t prompt_ = 0;
  int64_t completion_ = 0;
  int64_t streamed_bytes_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SchedulerImpl>> SchedulerImpl::Create(
    const sluice::v1::Config& config, adapters::Adapters* next,
    asio::io_context* io, SchedulerOptions options) {
  if (next == nullptr) {
    return absl::FailedPreconditionError(
        "the scheduler needs the adapters (hosted or remote)");
  }
  if (io == nullptr) return absl::InvalidArgumentError("scheduler: no io_context");
  std::unique_ptr<SchedulerImpl> scheduler(
      new SchedulerImpl(config, next, io, std::move(options)));
  if (!config.scheduler().redis().empty()) {
    redis::RedisOptions redis;
    redis.address = config.scheduler().redis();
    redis.command_timeout =
        config::DurationOr(config.scheduler().redis_timeout(), absl::Milliseconds(100));
    absl::StatusOr<redis::RedisClientPtr> client = redis::RedisClient::Create(redis);
    if (!client.ok()) return client.status();
    // The client connects in the background; calls before it has would go
    // through on this replica's limits alone, so give it a moment first.
    absl::Time deadline = absl::Now() + absl::Seconds(2);
    while (!(*client)->connected() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    if (!(*client)->connected()) {
      spdlog::warn("scheduler: Redis at {} is not reachable yet: providers' limits "
                   "hold per replica until it is",
                   redis.address);
    }
    scheduler->redis_ = *std::move(client);
  }
  return scheduler;
}

SchedulerImpl::SchedulerImpl(const sluice::v1::Config& config,
                             adapters::Adapters* next, asio::io_context* io,
                             SchedulerOptions options)
    : next_(next),
      options_(std::move(options)),
      metrics_(options_.metrics != nullptr ? *options_.metrics
                                           : obs::MetricsRegistry::Default()),
      bounds_{config.scheduler().max_queue() > 0
                  ? static_cast<size_t>(config.scheduler().max_queue())
                  : 1024,
              config.scheduler().max_batch_queue() > 0
                  ? static_cast<size_t>(config.scheduler().max_batch_queue())
                  : 100000},
      timer_(*io) {
  for (const auto& provider : config.providers()) {
    limits_[provider.name()] = {provider.limits().max_concurrency(),
                                provider.limits().rpm(), provider.limits().tpm()};
    if (provider.kind() == sluice::v1::PROVIDER_KIND_WORKER) {
      const auto& scheduler = config.scheduler();
      MicroBatch group;
      group.max_batch = scheduler.worker_max_batch() > 0
                            ? static_cast<size_t>(scheduler.worker_max_batch())
                            : 32;
      group.max_wait = config::DurationOr(scheduler.worker_max_wait(),
                                          absl::Milliseconds(50));
      micro_batches_[provider.name()] = group;
    }
  }
  for (const auto& tenant : config.tenants()) {
    weights_[tenant.name()] = tenant.weight() > 0 ? tenant.weight() : 1.0;
  }
  absl::MutexLock lock(&timer_guard_->mu);
  timer_guard_->scheduler = this;
}

SchedulerImpl::~SchedulerImpl() {
  {
    absl::MutexLock lock(&timer_guard_->mu);  // waits for a handler in progress
    timer_guard_->scheduler = nullptr;
  }
  Drain();
  absl::MutexLock lock(&mu_);
  timer_.cancel();
}

TargetQueue& SchedulerImpl::TargetFor(const std::string& provider) {
  auto it = targets_.find(provider);
  if (it == targets_.end()) {
    auto limits = limits_.find(provider);
    Target target;
    auto group = micro_batches_.find(provider);
    target.queue = std::make_unique<TargetQueue>(
        limits == limits_.end() ? TargetLimitsConfig{} : limits->second, bounds_,
        options_.clock(), group == micro_batches_.end() ? MicroBatch{} : group->second);
    if (group != micro_batches_.end()) {
      target.micro_batch_size = &metrics_.histogram(
          "sluice_scheduler_micro_batch_size",
          "Batch calls released together toward a worker (one observation per release).",
          {1, 2, 4, 8, 16, 32, 64, 128}, {{"provider", provider}});
    }
    auto labels = [&](const char* priority) -> obs::Labels {
      return {{"provider", provider}, {"priority", priority}};
    };
    constexpr char kQueuedHelp[] = "Calls waiting in the scheduler's queue.";
    constexpr char kWaitHelp[] = "Time calls waited in the scheduler's queue.";
    target.queued_interactive = &metrics_.gauge(
        "sluice_scheduler_queued_requests", kQueuedHelp, labels("interactive"));
    target.queued_batch = &metrics_.gauge("sluice_scheduler_queued_requests",
                                          kQueuedHelp, labels("batch"));
    target.in_flight = &metrics_.gauge("sluice_scheduler_running_requests",
                                       "Calls the scheduler let through, running.",
                                       {{"provider", provider}});
    target.wait_interactive = &metrics_.histogram(
        "sluice_scheduler_queue_time_seconds", kWaitHelp,
        obs::DefaultLatencyBucketsSeconds(), labels("interactive"));
    target.wait_batch = &metrics_.histogram("sluice_scheduler_queue_time_seconds",
                                            kWaitHelp, obs::DefaultLatencyBucketsSeconds(),
                                            labels("batch"));
    const TargetLimitsConfig& config =
        limits == limits_.end() ? TargetLimitsConfig{} : limits->second;
    if (redis_ != nullptr &&
        (config.max_concurrency > 0 || config.rpm > 0 || config.tpm > 0)) {
      target.gate = std::make_unique<SharedGate>(redis_.get(), provider, config);
      if (group != micro_batches_.end() && group->second.max_batch > 0) {
        target.max_group[1] = group->second.max_batch;
      }
    }
    it = targets_.emplace(provider, std::move(target)).first;
  }
  return *it->second.queue;
}

void SchedulerImpl::CountRefused(const std::string& provider, bool batch,
                                 absl::string_view reason) {
  metrics_
      .counter("sluice_scheduler_refused_total",
               "Calls that left the scheduler's queue without running, by reason "
               "(queue_full, deadline, cancelled, shutdown).",
               {{"provider", provider},
                {"priority", batch ? "batch" : "interactive"},
                {"reason", std::string(reason)}})
      .Increment();
}

QueuedCall SchedulerImpl::Describe(const host::CallContext& context,
                                  const AdapterRequest& request,
                                  Started* started) const {
  started->provider = request.provider();
  started->tenant = context.caller().tenant;
  started->batch = context.caller().batch;
  started->estimated_prompt_tokens = EstimatePromptTokens(request.request());
  started->deadline = context.deadline();

  QueuedCall call;
  call.tenant = started->tenant;
  auto weight = weights_.find(call.tenant);
  call.weight = weight == weights_.end() ? 1.0 : weight->second;
  call.batch = started->batch;
  call.prompt_tokens = started->estimated_prompt_tokens;
  call.max_completion_tokens = MaxCompletionTokens(request.request());
  call.deadline = context.deadline();
  call.enqueued = options_.clock();
  call.lease = std::make_shared<std::string>();
  started->lease = call.lease;
  started->charged_tokens = call.charged_tokens();
  return call;
}

namespace {

// The provider failed the call itself (5xx, no answer within its own
// timeouts), as opposed to refusing it (429, 4xx) or the caller going away
// or running out of time.
bool UpstreamFailed(const absl::Status& status, absl::Time caller_deadline,
                    absl::Time now) {
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return now < caller_deadline;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

}  // namespace

void SchedulerImpl::Submit(const host::CallContextPtr& context,
                           const std::string& provider, QueuedCall call) {
  absl::Status refused;
  const char* reason = "shutdown";
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    if (draining_) {
      refused = absl::UnavailableError("the scheduler is shutting down");
    } else {
      id = next_id_++;
      call.id = id;
      TargetQueue& target = TargetFor(provider);
      target.Observe(options_.clock());
      refused = target.Enqueue(std::move(call));  // moved only if queued
      if (refused.ok()) waiting_[id] = Waiting{context, 0};
      reason = absl::IsResourceExhausted(refused) ? "queue_full" : "provider_down";
    }
  }
  if (!refused.ok()) {
    CountRefused(provider, call.batch, reason);
    std::move(call.start)(refused);
    return;
  }
  // A caller that goes away leaves the queue at once.
  host::CallContext::HookId hook = context->OnCancel([guard = timer_guard_, id] {
    absl::ReaderMutexLock guard_lock(&guard->mu);
    SchedulerImpl* self = guard->scheduler;
    if (self == nullptr) return;
    {
      absl::MutexLock lock(&self->mu_);
      if (!self->waiting_.contains(id)) return;
      self->cancelled_.insert(id);
    }
    self->Pump();
  });
  {
    absl::MutexLock lock(&mu_);
    auto it = waiting_.find(id);
    if (it != waiting_.end()) it->second.cancel_hook = hook;
  }
  Pump();
}

void SchedulerImpl::Pump() {
  {
    absl::MutexLock lock(&mu_);
    if (pumping_) {
      pump_again_ = true;
      return;
    }
    pumping_ = true;
  }
  while (true) {
    std::vector<std::pair<QueuedCall, absl::Status>> runs;
    std::vector<std::pair<host::CallContextPtr, host::CallContext::HookId>> hooks;
    std::vector<Ask> asks;
    {
      absl::MutexLock lock(&mu_);
      pump_again_ = false;
      absl::Time now = options_.clock();
      absl::Time wake = absl::InfiniteFuture();
      for (auto& [provider, target] : targets_) {
        TargetQueue& queue = *target.queue;
        for (QueuedCall& call : queue.TakeDropped(now, [this](const QueuedCall& c) {
               return cancelled_.contains(c.id) || draining_;
             })) {
          absl::string_view reason = draining_                     ? "shutdown"
                                     : cancelled_.contains(call.id) ? "cancelled"
                                                                    : "deadline";
          absl::Status why =
              reason == "shutdown"    ? absl::UnavailableError("the scheduler is shutting down")
              : reason == "cancelled" ? absl::CancelledError("the caller went away while queued")
                                      : absl::DeadlineExceededError(absl::StrCat(
                                            "the request's deadline passed while it waited for ",
                                            provider, " (", queue.in_flight(),
                                            " calls in flight)"));
          CountRefused(provider, call.batch, reason);
          runs.emplace_back(std::move(call), why);
        }
        if (target.gate == nullptr) {
          int batch_calls = 0;
          for (QueuedCall& call : queue.TakeStartable(now)) {
            (call.batch ? target.wait_batch : target.wait_interactive)
                ->Observe(absl::ToDoubleSeconds(now - call.enqueued));
            batch_calls += call.batch ? 1 : 0;
            runs.emplace_back(std::move(call), absl::OkStatus());
          }
          if (target.micro_batch_size != nullptr && batch_calls > 0) {
            target.micro_batch_size->Observe(batch_calls);
          }
        } else {
          PumpShared(provider, target, now, runs, asks, wake);
        }
        target.queued_interactive->Set(static_cast<double>(queue.queued_interactive()));
        target.queued_batch->Set(static_cast<double>(queue.queued_batch()));
        target.in_flight->Set(queue.in_flight());
        wake = std::min(wake, queue.NextWake(now));
      }
      for (auto& [call, status] : runs) {
        cancelled_.erase(call.id);
        auto it = waiting_.find(call.id);
        if (it != waiting_.end()) {
          hooks.emplace_back(std::move(it->second.context), it->second.cancel_hook);
          waiting_.erase(it);
        }
      }
      ArmTimer(wake);
      if (runs.empty() && asks.empty()) {
        if (!pump_again_) {
          pumping_ = false;
          return;
        }
        continue;
      }
    }
    for (auto& [context, hook] : hooks) {
      if (hook != 0) context->Forget(hook);
    }
    for (auto& [call, status] : runs) std::move(call.start)(std::move(status));
    for (Ask& ask : asks) {
      ask.gate->Acquire(ask.tokens, ask.batch,
                        [this, provider = std::move(ask.provider), batch = ask.batch](
                            absl::StatusOr<SharedGate::Answer> answer) {
                          OnGateAnswer(provider, batch, std::move(answer));
                        });
    }
  }
}

void SchedulerImpl::PumpShared(const std::string& provider, Target& target,
                               absl::Time now,
                               std::vector<std::pair<QueuedCall, absl::Status>>& runs,
                               std::vector<Ask>& asks, absl::Time& wake) {
  TargetQueue& queue = *target.queue;
  for (bool batch : {false, true}) {
    Target::Held& held = target.held[batch];
    if (held.asking) continue;  // its answer decides
    // Held calls that expired or were given up leave with their reason
    // (and their local slots).
    std::vector<QueuedCall> kept;
    for (QueuedCall& call : held.calls) {
      absl::string_view gone = draining_                     ? "shutdown"
                               : cancelled_.contains(call.id) ? "cancelled"
                               : call.deadline <= now         ? "deadline"
                                                              : "";
      if (gone.empty()) {
        kept.push_back(std::move(call));
        continue;
      }
      queue.Finish(call.tenant, call.batch, call.charged_tokens(), 0, 0,
                   call.prompt_tokens, now);
      CountRefused(provider, call.batch, gone);
      absl::Status why =
          gone == "shutdown"    ? absl::UnavailableError("the scheduler is shutting down")
          : gone == "cancelled" ? absl::CancelledError("the caller went away while queued")
                                : absl::DeadlineExceededError(absl::StrCat(
                                      "the request's deadline passed while it waited for ",
                                      provider, "'s shared limits"));
      runs.emplace_back(std::move(call), std::move(why));
    }
    held.calls = std::move(kept);
    if (draining_) continue;
    // More calls join the group, as many as the queue lets start (for a
    // worker's batch class: once its micro-batch has gathered).
    const size_t max_group = target.max_group[batch];
    if (held.calls.size() < max_group) {
      std::vector<QueuedCall> more =
          queue.TakeStartable(now, max_group - held.calls.size(), batch);
      if (held.calls.empty() && !more.empty()) held.ask_at = now;
      for (QueuedCall& call : more) held.calls.push_back(std::move(call));
    }
    if (held.calls.empty()) continue;
    if (held.ask_at > now) {
      wake = std::min(wake, held.ask_at);
      for (const QueuedCall& call : held.calls) wake = std::min(wake, call.deadline);
      continue;
    }
    held.asking = true;
    Ask ask{provider, target.gate.get(), batch, {}};
    ask.tokens.reserve(held.calls.size());
    for (const QueuedCall& call : held.calls) ask.tokens.push_back(call.charged_tokens());
    asks.push_back(std::move(ask));
  }
}

void SchedulerImpl::OnGateAnswer(const std::string& provider, bool batch,
                                 absl::StatusOr<SharedGate::Answer> answer) {
  std::vector<QueuedCall> go;
  absl::Status why;
  {
    absl::MutexLock lock(&mu_);
    Target& target = targets_.at(provider);
    Target::Held& held = target.held[batch];
    held.asking = false;
    if (held.calls.empty()) return;
    absl::Time now = options_.clock();
    size_t granted = held.calls.size();
    if (answer.ok()) {
      // The first ones go, each with its lease; the rest ask again.
      granted = answer->leases.size();
      for (size_t i = 0; i < granted; ++i) *held.calls[i].lease = answer->leases[i];
      if (granted < held.calls.size()) held.ask_at = now + answer->retry_after;
    } else if (absl::IsCancelled(answer.status())) {
      why = absl::UnavailableError("the scheduler is shutting down");
      for (const QueuedCall& call : held.calls) {
        target.queue->Finish(call.tenant, call.batch, call.charged_tokens(), 0, 0,
                             call.prompt_tokens, now);
      }
    } else {
      // Redis could not answer: this replica's own limits decide.
      metrics_
          .counter("sluice_scheduler_shared_limit_errors_total",
                   "Calls let through on this replica's own limits because "
                   "the shared ones (Redis) could not answer.",
                   {{"provider", provider}})
          .Increment(static_cast<double>(granted));
    }
    go.assign(std::make_move_iterator(held.calls.begin()),
              std::make_move_iterator(held.calls.begin() + static_cast<ptrdiff_t>(granted)));
    held.calls.erase(held.calls.begin(),
                     held.calls.begin() + static_cast<ptrdiff_t>(granted));
    for (const QueuedCall& call : go) {
      (batch ? target.wait_batch : target.wait_interactive)
          ->Observe(absl::ToDoubleSeconds(now - call.enqueued));
      auto it = waiting_.find(call.id);
      if (it != waiting_.end()) {
        if (it->second.cancel_hook != 0) it->second.context->Forget(it->second.cancel_hook);
        waiting_.erase(it);
      }
      cancelled_.erase(call.id);
    }
    if (batch && why.ok() && !go.empty() && target.micro_batch_size != nullptr) {
      target.micro_batch_size->Observe(static_cast<double>(go.size()));
    }
  }
  for (QueuedCall& call : go) std::move(call.start)(why);
  Pump();
}

void SchedulerImpl::ArmTimer(absl::Time wake) {
  if (wake == absl::InfiniteFuture() || wake >= timer_at_) return;
  timer_at_ = wake;
  absl::Duration in = std::max(absl::ZeroDuration(), wake - options_.clock());
  timer_.expires_after(absl::ToChronoNanoseconds(in));
  timer_.async_wait([guard = timer_guard_](boost::system::error_code ec) {
    if (ec) return;  // re-armed or cancelled
    absl::ReaderMutexLock lock(&guard->mu);
    if (guard->scheduler == nullptr) return;
    {
      absl::MutexLock inner(&guard->scheduler->mu_);
      guard->scheduler->timer_at_ = absl::InfiniteFuture();
    }
    guard->scheduler->Pump();
  });
}

void SchedulerImpl::Finished(const Started& call, int64_t prompt,
                             int64_t completion, const absl::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    absl::Time now = options_.clock();
    TargetQueue& target = TargetFor(call.provider);
    target.Finish(call.tenant, call.batch, call.charged_tokens, prompt,
                  completion, call.estimated_prompt_tokens, now);
    // Only an answer says the provider is up; refusals and callers giving
    // up say nothing either way.
    if (status.ok()) {
      target.RecordOutcome(false);
    } else if (UpstreamFailed(status, call.deadline, absl::Now())) {
      target.RecordOutcome(true);
    }
    Target& shared = targets_.at(call.provider);
    if (shared.gate != nullptr && call.lease != nullptr && !call.lease->empty()) {
      shared.gate->Release(*call.lease, call.charged_tokens, prompt + completion);
      // Room again: the held calls ask at once.
      for (Target::Held& held : shared.held) held.ask_at = now;
    }
    // The provider's own 429 (not our queue's: that one never started).
    if (absl::IsResourceExhausted(status)) {
      std::optional<absl::Duration> retry_after = status::RetryAfterOf(status);
      target.PauseUntil(now + retry_after.value_or(absl::Seconds(1)), now);
    }
  }
  Pump();
}

namespace {

// The time a call waited in its target's queue.
trace::ActiveSpan StartQueueSpan(const host::CallContext& context,
                                 const std::string& provider, bool batch) {
  trace::ActiveSpan span = trace::ActiveSpan::Start(
      absl::StrCat("queue ", provider), trace::SpanKind::kInternal,
      context.traceparent(), context.request_id());
  span.SetString("sluice.priority", batch ? "batch" : "interactive");
  return span;
}

void EndQueueSpan(trace::ActiveSpan& span, const absl::Status& status) {
  if (status.ok()) {
    span.SetOk();
  } else {
    span.SetError(absl::StatusCodeToString(status.code()), status.message());
  }
  span.End();
}

}  // namespace

void SchedulerImpl::Complete(host::CallContextPtr context, AdapterRequest request,
                             host::Callback<ChatResponse> done) {
  Started started;
  QueuedCall call = Describe(*context, request, &started);
  std::string provider = request.provider();
  started.queued_at = absl::Now();
  call.start = [this, context, request = std::move(request), started,
                done = std::move(done),
                span = StartQueueSpan(*context, provider,
                                      started.batch)](absl::Status status) mutable {
    EndQueueSpan(span, status);
    if (!status.ok()) {
      std::move(done)(std::move(status));
      return;
    }
    started.waited = absl::Now() - started.queued_at;
    next_->Complete(
        std::move(context), std::move(request),
        [this, started = std::move(started), done = std::move(done)](
            absl::StatusOr<ChatResponse> answer) mutable {
          int64_t prompt = started.estimated_prompt_tokens, completion = 0;
          if (answer.ok()) {
            prompt = answer->usage().prompt_tokens();
            completion = answer->usage().completion_tokens();
            answer->mutable_decision()->set_queue_us(
                absl::ToInt64Microseconds(started.waited));
          }
          Finished(started, prompt, completion, answer.status());
          std::move(done)(std::move(answer));
        });
  };
  Submit(context, provider, std::move(call));
}

void SchedulerImpl::StreamComplete(host::CallContextPtr context,
                                   AdapterRequest request,
                                   host::Sink<ChatChunk>* sink) {
  Started started;
  QueuedCall call = Describe(*context, request, &started);
  std::string provider = request.provider();
  started.queued_at = absl::Now();
  call.start = [this, context, request = std::move(request), started, sink,
                span = StartQueueSpan(*context, provider,
                                      started.batch)](absl::Status status) mutable {
    EndQueueSpan(span, status);
    if (!status.ok()) {
      sink->Done(std::move(status));
      return;
    }
    started.waited = absl::Now() - started.queued_at;
    next_->StreamComplete(std::move(context), std::move(request),
                          new FinishingSink(this, std::move(started), sink));
  };
  Submit(context, provider, std::move(call));
}

void SchedulerImpl::Drain() {
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
  }
  Pump();
}

SchedulerImpl::TargetState SchedulerImpl::StateOf(const std::string& provider) {
  absl::MutexLock lock(&mu_);
  auto it = targets_.find(provider);
  if (it == targets_.end()) return {};
  return {it->second.queue->queued(), it->second.queue->in_flight()};
}

}  // namespace sluice::scheduler
