#include "services/router/route_call.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/router/failure_class.h"

namespace sluice::router {
namespace {

using sluice::v1::ChatChunk;

// Whether sending this chunk commits the answer to the client.
bool HasContent(const ChatChunk& chunk) {
  for (const sluice::v1::ChunkChoice& choice : chunk.choices()) {
    const sluice::v1::Message& delta = choice.delta();
    if (!delta.text().empty() || delta.has_parts() ||
        !delta.reasoning_content().empty() || delta.tool_calls_size() > 0 ||
        !delta.refusal().empty() || !choice.finish_reason().empty()) {
      return true;
    }
  }
  return false;
}

bool Truncated(const sluice::v1::ChatResponse& response) {
  for (const sluice::v1::Choice& choice : response.choices()) {
    if (choice.finish_reason() == "length") return true;
  }
  return false;
}

bool HasUsage(const sluice::v1::Usage& usage) {
  return usage.prompt_tokens() > 0 || usage.completion_tokens() > 0;
}

std::string ReasoningText(const sluice::v1::ChatResponse& response) {
  std::string text;
  for (const sluice::v1::Choice& choice : response.choices()) {
    absl::StrAppend(&text, choice.message().reasoning_content());
  }
  return text;
}

std::string AnswerText(const sluice::v1::ChatResponse& response) {
  std::string text;
  for (const sluice::v1::Choice& choice : response.choices()) {
    absl::StrAppend(&text, choice.message().reasoning_content(),
                    choice.message().text());
    for (const sluice::v1::ToolCall& call : choice.message().tool_calls()) {
      absl::StrAppend(&text, call.function_name(), call.function_arguments());
    }
  }
  return text;
}

absl::Status CallerGone() {
  return absl::CancelledError("the caller went away");
}

}  // namespace

// One streamed attempt's chunks, tagged with the attempt they belong to.
class RouteCall::AttemptSink final : public host::Sink<ChatChunk> {
 public:
  AttemptSink(std::shared_ptr<RouteCall> call, int attempt)
      : call_(std::move(call)), attempt_(attempt) {}

  void Start(host::FlowPtr flow) override {
    call_->SetAttemptFlow(attempt_, std::move(flow));
  }
  bool Next(ChatChunk chunk) override {
    RouteCall* call = call_.get();
    int attempt = attempt_;
    call->Post([call, attempt, chunk = std::move(chunk)]() mutable {
      call->OnChunk(attempt, std::move(chunk));
    });
    return call->CallerOpen();
  }
  void Done(absl::Status status) override {
    std::shared_ptr<RouteCall> call = std::move(call_);
    int attempt = attempt_;
    delete this;
    RouteCall* raw = call.get();
    raw->Post([raw, attempt, status = std::move(status)]() mutable {
      raw->OnAttemptEnded(attempt, std::move(status));
    });
  }

 private:
  std::shared_ptr<RouteCall> call_;
  const int attempt_;
};

// The cache lookup's events. A lookup that ends without its last event
// (the cache unreachable) is a miss: the request goes upstream as if there
// were no cache.
class RouteCall::LookupSink final : public host::Sink<sluice::v1::CacheEvent> {
 public:
  explicit LookupSink(std::shared_ptr<RouteCall> call)
      : call_(std::move(call)) {}

  bool Next(sluice::v1::CacheEvent event) override {
    if (event.event_case() != sluice::v1::CacheEvent::kChunk) ended_ = true;
    if (event.has_miss() && event.miss().reason() == "leader_failed") {
      // A follower hears this under the cache's flight lock: going
      // upstream (a token count, maybe) happens on another thread.
      auto timer = std::make_shared<host::Timer>();
      std::shared_ptr<RouteCall> call = call_;
      timer->Set(absl::Now(), [timer, call, event = std::move(event)](
                                  bool) mutable {
        RouteCall* raw = call.get();
        raw->Post([raw, event = std::move(event)]() mutable {
          raw->OnCacheEvent(std::move(event));
        });
        timer.reset();
      });
      return true;
    }
    RouteCall* call = call_.get();
    call->Post([call, event = std::move(event)]() mutable {
      call->OnCacheEvent(std::move(event));
    });
    return true;
  }

  void Done(absl::Status status) override {
    if (!ended_) {
      sluice::v1::CacheEvent miss;
      miss.mutable_miss()->set_reason("unavailable");
      Next(std::move(miss));
    }
    delete this;
  }

 private:
  std::shared_ptr<RouteCall> call_;
  bool ended_ = false;
};

// What the caller's Resume() reaches: the attempt's upstream read.
class RouteCall::CallerFlow final : public host::Flow {
 public:
  explicit CallerFlow(std::weak_ptr<RouteCall> call) : call_(std::move(call)) {}

  void Resume() override {
    std::shared_ptr<RouteCall> call = call_.lock();
    if (call == nullptr) return;
    call->resumes_.fetch_add(1, std::memory_order_acq_rel);
    host::FlowPtr flow;
    {
      absl::MutexLock lock(&call->flow_mu_);
      flow = call->attempt_flow_;
    }
    if (flow != nullptr) flow->Resume();
  }

 private:
  std::weak_ptr<RouteCall> call_;
};

void RouteCall::Unary(RouterCore* core, host::CallTracker::Ticket ticket,
                      host::CallContextPtr context,
                      sluice::v1::ChatRequest request,
                      host::Callback<sluice::v1::ChatResponse> done) {
  auto call = std::make_shared<RouteCall>(core, std::move(ticket),
                                          std::move(context), std::move(request));
  call->done_ = std::move(done);
  call->Post([raw = call.get()] { raw->Begin(); });
}

void RouteCall::Stream(RouterCore* core, host::CallTracker::Ticket ticket,
                       host::CallContextPtr context,
                       sluice::v1::ChatRequest request,
                       host::Sink<ChatChunk>* out) {
  auto call = std::make_shared<RouteCall>(core, std::move(ticket),
                                          std::move(context), std::move(request));
  call->stream_ = true;
  call->out_ = out;
  out->Start(std::make_shared<CallerFlow>(call));
  call->Post([raw = call.get()] { raw->Begin(); });
}

RouteCall::RouteCall(RouterCore* core, host::CallTracker::Ticket ticket,
                     host::CallContextPtr context,
                     sluice::v1::ChatRequest request)
    : core_(core), ticket_(std::move(ticket)), context_(std::move(context)) {
  *call_.mutable_request() = std::move(request);
}

RouteCall::~RouteCall() = default;

void RouteCall::Post(absl::AnyInvocable<void() &&> event) {
  // The serializer's owner must outlive Run(): `self` does that.
  std::shared_ptr<RouteCall> self = shared_from_this();
  serializer_.Run([self, event = std::move(event)]() mutable {
    std::move(event)();
  });
}

bool RouteCall::CallerOpen() const {
  int64_t blocked = blocked_at_.load(std::memory_order_acquire);
  return blocked < 0 ||
         resumes_.load(std::memory_order_acquire) > static_cast<uint64_t>(blocked);
}

void RouteCall::SetAttemptFlow(int attempt, host::FlowPtr flow) {
  absl::MutexLock lock(&flow_mu_);
  if (attempt < flow_attempt_) return;
  flow_attempt_ = attempt;
  attempt_flow_ = std::move(flow);
}

void RouteCall::Begin() {
  std::weak_ptr<RouteCall> weak = weak_from_this();
  cancel_hook_ = context_->OnCancel([weak] {
    if (std::shared_ptr<RouteCall> call = weak.lock()) {
      call->Post([raw = call.get()] { raw->OnCancelled(); });
    }
  });
  span_ = trace::ActiveSpan::Start(
      absl::StrCat("route ", call_.request().model()),
      trace::SpanKind::kInternal, context_->traceparent(),
      context_->request_id());
  if (stream_) {
    // Usage always comes back from upstream; ingress shows it to the
    // client only when asked to.
    call_.mutable_request()->set_include_usage(true);
  }
  absl::StatusOr<std::string> model = core_->ResolveModel(call_.request());
  if (!model.ok()) return Finish(model.status());
  if (core_->adapters() == nullptr) {
    return Finish(absl::UnavailableError("the adapters are not reachable"));
  }
  if (cache::Cache* cache = core_->CacheFor(call_.request())) {
    return LookUp(cache, *std::move(model));
  }
  if (core_->cache() != nullptr) cache_status_ = "bypass";
  GoUpstream();
}

void RouteCall::LookUp(cache::Cache* cache, std::string resolved_model) {
  sluice::v1::CacheLookupRequest lookup;
  *lookup.mutable_request() = call_.request();
  lookup.set_resolved_model(std::move(resolved_model));
  lookup_span_ = trace::ActiveSpan::Start("cache lookup",
                                         trace::SpanKind::kInternal,
                                         span_.traceparent(),
                                         context_->request_id());
  cache->Lookup(ChildContext(), std::move(lookup),
                new LookupSink(shared_from_this()));
}

void RouteCall::OnCacheEvent(sluice::v1::CacheEvent event) {
  if (lookup_span_.recording()) {
    const char* outcome = "miss";
    switch (event.event_case()) {
      case sluice::v1::CacheEvent::kHit:
        outcome = "hit";
        break;
      case sluice::v1::CacheEvent::kChunk:
      case sluice::v1::CacheEvent::kDone:
        outcome = "shared";
        break;
      case sluice::v1::CacheEvent::kMiss:
        if (event.miss().bypass()) outcome = "bypass";
        break;
      default:
        break;
    }
    lookup_span_.SetString("sluice.cache", outcome).SetOk().End();
  }
  if (finished_) return;
  switch (event.event_case()) {
    case sluice::v1::CacheEvent::kHit: {
      sluice::v1::CachedAnswer& answer = *event.mutable_hit();
      if (!stream_) {
        return AnswerFromCache(std::move(*answer.mutable_response()), "hit");
      }
      if (answer.chunks().empty()) {
        // Stored from a unary call: its answer, as chunks.
        for (ChatChunk& chunk : codec::ChunksOf(answer.response())) {
          SendFromCache(std::move(chunk), "hit");
        }
      } else {
        for (ChatChunk& chunk : *answer.mutable_chunks()) {
          SendFromCache(std::move(chunk), "hit");
        }
      }
      return Finish(absl::OkStatus());
    }
    case sluice::v1::CacheEvent::kChunk:
      if (stream_) SendFromCache(std::move(*event.mutable_chunk()), "shared");
      return;
    case sluice::v1::CacheEvent::kDone:
      if (!stream_) {
        return AnswerFromCache(std::move(*event.mutable_done()), "shared");
      }
      if (from_cache_ == 0) {
        // The leader was a unary call: its answer, as chunks.
        for (ChatChunk& chunk : codec::ChunksOf(event.done())) {
          SendFromCache(std::move(chunk), "shared");
        }
      }
      return Finish(absl::OkStatus());
    case sluice::v1::CacheEvent::kLead:
      cache_status_ = "miss";
      fill_ = core_->cache()->StartFill(context_, event.lead().key());
      break;
    case sluice::v1::CacheEvent::kMiss:
      cache_status_ = event.miss().bypass() ? "bypass" : "miss";
      break;
    default:
      return;
  }
  if (context_->cancelled()) return Finish(CallerGone());
  if (from_cache_ > 0) {
    // Part of the leader's answer already reached the client.
    return Finish(absl::UnavailableError(
        "the identical request this one shared failed upstream"));
  }
  GoUpstream();
}

void RouteCall::AnswerFromCache(sluice::v1::ChatResponse response,
                                const char* cache) {
  response_ = std::move(response);
  sluice::v1::RouteDecision* decision = response_.mutable_decision();
  decision->Clear();
  decision->set_cache(cache);
  core_->Price(response_.route(), response_.usage(), call_.request().context(),
               *decision);
  finished_ = true;
  Deliver(absl::OkStatus());
}

void RouteCall::SendFromCache(ChatChunk chunk, const char* cache) {
  // The decision of the call that made the answer is not this one's: the
  // first chunk (for the response head) and the usage chunk (for the usage
  // event) carry this one's, priced as an answer from the cache.
  chunk.clear_decision();
  if (from_cache_++ == 0 || chunk.has_usage()) {
    chunk.mutable_decision()->set_cache(cache);
  }
  if (chunk.has_usage()) {
    core_->Price(chunk.route(), chunk.usage(), call_.request().context(),
                 *chunk.mutable_decision());
  }
  out_->Next(std::move(chunk));
}

void RouteCall::GoUpstream() {
  absl::StatusOr<PreparedRoute> route =
      core_->Prepare(call_.request(), Counting::kBoundsOnly);
  if (!route.ok()) return Finish(route.status());
  if (route->needs_count) return CountPrompt();
  Route(*std::move(route));
}

void RouteCall::CountPrompt() {
  // A long prompt takes milliseconds to count: on a counting thread, never
  // this one (it serves other calls' events). When every counter is busy
  // and the queue is full, the bounds decide instead.
  std::shared_ptr<RouteCall> self = shared_from_this();
  bool queued = core_->counting().TrySubmit([self] {
    absl::StatusOr<int64_t> count =
        self->core_->CountPrompt(self->call_.request());
    self->Post([self, count = std::move(count)]() mutable {
      self->OnCounted(std::move(count));
    });
  });
  if (!queued) OnCounted(absl::ResourceExhaustedError("every counter is busy"));
}

void RouteCall::OnCounted(absl::StatusOr<int64_t> count) {
  if (context_->cancelled()) return Finish(CallerGone());
  absl::StatusOr<PreparedRoute> route = core_->Prepare(
      call_.request(), Counting::kSettleWithBounds,
      count.ok() ? std::optional<int64_t>(*count) : std::nullopt);
  if (!route.ok()) return Finish(route.status());
  Route(*std::move(route));
}

void RouteCall::Route(PreparedRoute route) {
  route_ = std::move(route);
  loop_.emplace(core_->retry(), route_.order, &core_->health());
  Step();
}

void RouteCall::Step() {
  if (context_->cancelled()) return Finish(CallerGone());
  absl::Time now = absl::Now();
  AttemptLoop::Step step = loop_->Next(now);
  switch (step.action) {
    case AttemptLoop::Step::Action::kGiveUp:
      return Finish(step.status);
    case AttemptLoop::Step::Action::kWait: {
      absl::Time wake = now + step.wait;
      if (wake > context_->deadline()) {
        return Finish(absl::DeadlineExceededError(absl::StrCat(
            "the request's deadline comes before the next retry (",
            loop_->reason(), ")")));
      }
      waiting_ = true;
      timer_ = std::make_unique<host::Timer>();
      std::shared_ptr<RouteCall> self = shared_from_this();
      timer_->Set(wake, [self](bool) {
        RouteCall* raw = self.get();
        raw->Post([raw] { raw->OnWake(); });
      });
      return;
    }
    case AttemptLoop::Step::Action::kAttempt:
      return Attempt(*step.candidate);
  }
}

void RouteCall::OnWake() {
  if (!waiting_) return;
  waiting_ = false;
  Step();
}

void RouteCall::OnCancelled() {
  // An attempt or a lookup in flight ends by itself (its context is a child
  // of this call's); a wait is cut short.
  if (waiting_ && timer_ != nullptr) timer_->Cancel();
}

void RouteCall::Attempt(const Candidate& candidate) {
  call_.set_provider(candidate.provider);
  call_.set_upstream_model(candidate.model);
  attempt_start_ = absl::Now();
  core_->metrics().Attempt(candidate.route());
  int attempt = ++attempt_;
  if (stream_) {
    core_->adapters()->StreamComplete(
        ChildContext(), call_, new AttemptSink(shared_from_this(), attempt));
    return;
  }
  std::shared_ptr<RouteCall> self = shared_from_this();
  core_->adapters()->Complete(
      ChildContext(), call_,
      [self, attempt](absl::StatusOr<sluice::v1::ChatResponse> answer) mutable {
        RouteCall* raw = self.get();
        raw->Post([raw, attempt, answer = std::move(answer)]() mutable {
          raw->OnUnaryAnswer(attempt, std::move(answer));
        });
      });
}

bool RouteCall::AttemptFailed(const absl::Status& status, absl::Status* ended) {
  absl::Time now = absl::Now();
  if (context_->cancelled()) {
    loop_->Abandoned(now);
    *ended = CallerGone();
    return false;
  }
  if (CallerDeadlinePassed(context_->deadline(), now)) {
    loop_->Abandoned(now);
    *ended = absl::DeadlineExceededError("the caller's deadline passed");
    return false;
  }
  core_->metrics().Failure(loop_->current()->route(),
                           ClassifyFailure(status).kind, now - attempt_start_);
  loop_->Failed(status, now);
  return true;
}

void RouteCall::OnUnaryAnswer(int attempt,
                              absl::StatusOr<sluice::v1::ChatResponse> answer) {
  if (attempt != attempt_ || finished_) return;
  if (!answer.ok()) {
    absl::Status ended;
    if (!AttemptFailed(answer.status(), &ended)) return Finish(ended);
    return Step();
  }
  absl::Time now = absl::Now();
  absl::Duration latency = now - attempt_start_;
  core_->metrics().Success(loop_->current()->route(), latency);
  queued_ += absl::Microseconds(answer->decision().queue_us());
  // How the provider chose among its own backends (a worker pool).
  if (!answer->decision().reason().empty()) {
    loop_->Note(loop_->current()->route(), answer->decision().reason());
  }
  loop_->Succeeded(latency, now);
  if (Truncated(*answer)) {
    route_.decision.set_truncated(true);
    if (route_.plan.on_truncation == sluice::v1::TRUNCATION_POLICY_ESCALATE &&
        loop_->Escalate(now)) {
      return Step();
    }
  }
  response_ = *std::move(answer);
  if (!HasUsage(response_.usage())) {
    *response_.mutable_usage() =
        core_->EstimateUsage(route_, call_.request(), AnswerText(response_),
                             ReasoningText(response_));
  } else {
    core_->CountUnreportedReasoning(route_, ReasoningText(response_),
                                    *response_.mutable_usage());
  }
  Finish(absl::OkStatus());
}

void RouteCall::OnChunk(int attempt, ChatChunk chunk) {
  if (attempt != attempt_ || finished_) return;
  // The scheduler stamps an attempt's first chunk with its queue wait.
  queued_ += absl::Microseconds(chunk.decision().queue_us());
  if (head_.id().empty()) {
    head_.set_id(chunk.id());
    head_.set_created(chunk.created());
    head_.set_model(chunk.model());
    head_.set_route(chunk.route());
    // How the provider chose among its own backends (a worker pool).
    if (!chunk.decision().reason().empty()) {
      loop_->Note(loop_->current()->route(), chunk.decision().reason());
    }
  }
  if (chunk.has_usage() && chunk.choices().empty()) {
    usage_ = std::move(chunk);  // sent last, with the final decision
    return;
  }
  for (const sluice::v1::ChunkChoice& choice : chunk.choices()) {
    if (choice.finish_reason() == "length") route_.decision.set_truncated(true);
    absl::StrAppend(&text_, choice.delta().reasoning_content(),
                    choice.delta().text());
    absl::StrAppend(&reasoning_, choice.delta().reasoning_content());
    for (const sluice::v1::ToolCall& call : choice.delta().tool_calls()) {
      absl::StrAppend(&text_, call.function_name(), call.function_arguments());
    }
  }
  bool content = HasContent(chunk);
  held_.push_back(std::move(chunk));
  if (committed_ || content) Commit();
}

void RouteCall::OnAttemptEnded(int attempt, absl::Status status) {
  if (attempt != attempt_ || finished_) return;
  absl::Time now = absl::Now();
  if (status.ok()) {
    absl::Duration latency = now - attempt_start_;
    core_->metrics().Success(loop_->current()->route(), latency);
    loop_->Succeeded(latency, now);
    Commit();
    SendUsage();
    return Finish(status);
  }
  absl::Status ended;
  if (!AttemptFailed(status, &ended)) {
    // The caller left, or its deadline passed, mid-answer: the upstream
    // produced tokens up to the cut and bills them, so do we (its usage if
    // it came, else what it sent, counted with the model's tokenizer).
    if (!head_.id().empty()) SendUsage();
    return Finish(ended);
  }
  if (!committed_) {
    // Nothing reached the client: another attempt may still serve it.
    held_.clear();
    text_.clear();
    reasoning_.clear();
    usage_.reset();
    head_.Clear();
    route_.decision.set_truncated(false);
    return Step();
  }
  ChatChunk last = head_;
  sluice::v1::ChunkChoice* choice = last.add_choices();
  choice->mutable_delta();
  choice->set_finish_reason("error");
  Emit(std::move(last));
  SendUsage();
  Finish(status);
}

void RouteCall::Emit(ChatChunk chunk) {
  if (fill_ != nullptr) {
    fill_->Chunk(chunk);
    assembled_.Add(chunk);
  }
  uint64_t seen = resumes_.load(std::memory_order_acquire);
  if (!out_->Next(std::move(chunk))) {
    blocked_at_.store(static_cast<int64_t>(seen), std::memory_order_release);
  }
}

void RouteCall::StampDecision(sluice::v1::RouteDecision* decision) {
  *decision = route_.decision;
  decision->set_cache(cache_status_);
  if (!loop_.has_value()) return;
  decision->set_attempts(loop_->attempts());
  const Candidate* serving = loop_->current();
  decision->set_fell_back(serving != nullptr && !route_.order.empty() &&
                          serving->route() != route_.order.front().route());
  const absl::Duration upstream = loop_->UpstreamTime(absl::Now());
  decision->set_queue_us(absl::ToInt64Microseconds(queued_));
  decision->set_upstream_us(absl::ToInt64Microseconds(
      std::max(upstream - queued_, absl::ZeroDuration())));
  if (!loop_->reason().empty()) {
    decision->set_reason(decision->reason().empty()
                             ? loop_->reason()
                             : absl::StrCat(decision->reason(), ";",
                                            loop_->reason()));
  }
}

void RouteCall::Commit() {
  committed_ = true;
  for (size_t i = 0; i < held_.size(); ++i) {
    if (i == 0) StampDecision(held_[i].mutable_decision());
    Emit(std::move(held_[i]));
  }
  held_.clear();
}

void RouteCall::SendUsage() {
  ChatChunk usage;
  if (usage_.has_value()) {
    usage = std::move(*usage_);
    usage_.reset();
    core_->CountUnreportedReasoning(route_, reasoning_, *usage.mutable_usage());
  } else {
    usage = head_;
    *usage.mutable_usage() =
        core_->EstimateUsage(route_, call_.request(), text_, reasoning_);
  }
  StampDecision(usage.mutable_decision());
  core_->Price(head_.route(), usage.usage(), call_.request().context(),
               *usage.mutable_decision());
  Emit(std::move(usage));
}

host::CallContextPtr RouteCall::ChildContext() {
  if (!span_.recording()) return context_->Child();
  return context_->ChildFor(span_.traceparent(), context_->caller());
}

void RouteCall::EndSpan(const absl::Status& status) {
  if (!span_.recording()) return;
  sluice::v1::RouteDecision decision;
  StampDecision(&decision);
  span_.SetString("sluice.task", decision.task())
      .SetString("sluice.task_reason", decision.task_reason())
      .SetInt("sluice.attempts", decision.attempts());
  if (!decision.cache().empty()) span_.SetString("sluice.cache", decision.cache());
  if (!decision.reason().empty()) {
    span_.SetString("sluice.route_reason", decision.reason());
  }
  if (!call_.provider().empty()) {
    span_.SetString("gen_ai.provider.name", call_.provider())
        .SetString("gen_ai.response.model", call_.upstream_model());
  }
  if (status.ok()) {
    span_.SetOk();
  } else {
    span_.SetError(absl::StatusCodeToString(status.code()), status.message());
  }
  span_.End();
}

void RouteCall::Finish(const absl::Status& status) {
  if (finished_) return;
  finished_ = true;
  EndSpan(status);
  if (!stream_) {
    sluice::v1::RouteDecision& decision = route_.decision;
    StampDecision(&decision);
    if (status.ok()) {
      core_->Price(response_.route(), response_.usage(),
                   call_.request().context(), decision);
      *response_.mutable_decision() = decision;
    }
  }
  if (fill_ == nullptr) return Deliver(status);
  // The answer goes to the client once the cache has it: an identical
  // request after this one then finds it stored.
  cache::CacheFill* fill = std::exchange(fill_, nullptr);
  if (!status.ok()) {
    fill->Abandon();
  } else if (stream_) {
    fill->Answer(assembled_.Response());
  } else {
    fill->Answer(response_);
  }
  std::shared_ptr<RouteCall> self = shared_from_this();
  fill->Close([self, status] {
    RouteCall* raw = self.get();
    raw->Post([raw, status] { raw->Deliver(status); });
  });
}

void RouteCall::Deliver(const absl::Status& status) {
  context_->Forget(cancel_hook_);
  {
    absl::MutexLock lock(&flow_mu_);
    attempt_flow_.reset();
  }
  if (stream_) return out_->Done(status);
  // What the caller's callback holds (for ingress, its call and that call's
  // ticket) goes once it has run, not when this call is destroyed.
  host::Callback<sluice::v1::ChatResponse> done = std::exchange(done_, nullptr);
  if (status.ok()) {
    std::move(done)(std::move(response_));
  } else {
    std::move(done)(status);
  }
}

}  // namespace sluice::router
