#include "services/router/stream_execution.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/host/call_context.h"
#include "libs/status/grpc_status.h"
#include "services/router/cache_lookup.h"
#include "services/router/failure_class.h"

namespace sluice::router {
namespace {

using sluice::v1::ChatChunk;

constexpr absl::Duration kDefaultTimeout = absl::Minutes(10);

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

}  // namespace

// Reads one attempt's stream from the adapters and hands it to the
// execution; deletes itself when the call is done.
class StreamExecution::AttemptReader final
    : public grpc::ClientReadReactor<ChatChunk> {
 public:
  AttemptReader(StreamExecution* execution, int id,
                std::shared_ptr<grpc::ClientContext> context,
                std::shared_ptr<sluice::v1::AdapterRequest> call)
      : execution_(execution),
        id_(id),
        context_(std::move(context)),
        call_(std::move(call)) {}

  void Start(sluice::v1::Adapter::Stub* stub) {
    stub->async()->StreamComplete(context_.get(), call_.get(), this);
    StartRead(&chunk_);
    StartCall();
  }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) return;
    execution_->OnChunk(id_, std::move(chunk_));
    chunk_.Clear();
    StartRead(&chunk_);
  }

  void OnDone(const grpc::Status& status) override {
    execution_->OnAttemptDone(id_, status);
    delete this;
  }

  StreamExecution* execution_;
  const int id_;
  std::shared_ptr<grpc::ClientContext> context_;
  std::shared_ptr<sluice::v1::AdapterRequest> call_;
  ChatChunk chunk_;
};

grpc::ServerWriteReactor<ChatChunk>* StreamExecution::Start(
    RouterCore* core, grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest& request, const std::string& resolved_model) {
  auto* execution = new StreamExecution(core, context, request);
  if (core->CacheFor(request) != nullptr) {
    execution->LookUp(resolved_model);
    return execution;
  }
  bool release;
  {
    absl::MutexLock lock(&execution->mu_);
    if (core->cache() != nullptr) execution->cache_status_ = "bypass";
    release = execution->GoUpstreamLocked();
  }
  if (release) execution->Release();
  return execution;
}

StreamExecution::StreamExecution(RouterCore* core,
                                 grpc::CallbackServerContext* context,
                                 const sluice::v1::ChatRequest& request)
    : QueuedStreamWriter<ChatChunk>(/*extra_holds=*/1),
      core_(core),
      context_(context),
      call_(std::make_shared<sluice::v1::AdapterRequest>()) {
  *call_->mutable_request() = request;
  // Usage always comes back from upstream; ingress shows it to the client
  // only when asked to.
  call_->mutable_request()->set_include_usage(true);
}

void StreamExecution::LookUp(const std::string& resolved_model) {
  sluice::v1::CacheLookupRequest lookup;
  sluice::v1::Cache::Stub* cache = core_->cache();
  std::shared_ptr<grpc::ClientContext> context;
  {
    absl::MutexLock lock(&mu_);
    *lookup.mutable_request() = call_->request();
    context = lookup_context_ = host::ChildContext(*context_, kDefaultTimeout);
  }
  lookup.set_resolved_model(resolved_model);
  // The lookup holds the execution until its last handler has run.
  AddHold();
  CacheLookupHandlers handlers;
  handlers.on_hit = [this](sluice::v1::CachedAnswer answer) {
    OnCacheHit(std::move(answer));
  };
  handlers.on_chunk = [this](ChatChunk chunk) { OnCacheChunk(std::move(chunk)); };
  handlers.on_done = [this](sluice::v1::ChatResponse response) {
    OnCacheDone(std::move(response));
  };
  handlers.on_lead = [this, cache](std::string lease) {
    OnCacheMiss(/*bypass=*/false, CacheFill::Start(cache, lease));
  };
  handlers.on_miss = [this](bool bypass) { OnCacheMiss(bypass, nullptr); };
  StartCacheLookup(cache, std::move(context), std::move(lookup),
                   std::move(handlers));
}

void StreamExecution::SendFromCacheLocked(ChatChunk chunk, const char* cache) {
  // The decision of the call that made the answer is not this one's: the
  // first chunk (for the response head) and the usage chunk (for the usage
  // event) carry this one's, priced as an answer from the cache.
  chunk.clear_decision();
  if (from_cache_++ == 0 || chunk.has_usage()) {
    chunk.mutable_decision()->set_cache(cache);
  }
  if (chunk.has_usage()) {
    core_->Price(chunk.route(), chunk.usage(), TenantLocked(),
                 *chunk.mutable_decision());
  }
  Push(std::move(chunk));
}

void StreamExecution::OnCacheHit(sluice::v1::CachedAnswer answer) {
  bool release;
  {
    absl::MutexLock lock(&mu_);
    if (answer.chunks().empty()) {
      // Stored from a unary call: its answer, as chunks.
      for (ChatChunk& chunk : codec::ChunksOf(answer.response())) {
        SendFromCacheLocked(std::move(chunk), "hit");
      }
    } else {
      for (ChatChunk& chunk : *answer.mutable_chunks()) {
        SendFromCacheLocked(std::move(chunk), "hit");
      }
    }
    release = EndLocked(absl::OkStatus());
  }
  if (release) Release();
  Release();  // the lookup's hold
}

void StreamExecution::OnCacheChunk(ChatChunk chunk) {
  absl::MutexLock lock(&mu_);
  if (ended_) return;
  SendFromCacheLocked(std::move(chunk), "shared");
}

void StreamExecution::OnCacheDone(sluice::v1::ChatResponse response) {
  bool release;
  {
    absl::MutexLock lock(&mu_);
    if (from_cache_ == 0) {
      // The leader was a unary call: its answer, as chunks.
      for (ChatChunk& chunk : codec::ChunksOf(response)) {
        SendFromCacheLocked(std::move(chunk), "shared");
      }
    }
    release = EndLocked(absl::OkStatus());
  }
  if (release) Release();
  Release();  // the lookup's hold
}

void StreamExecution::OnCacheMiss(bool bypass, CacheFill* fill) {
  bool release;
  {
    absl::MutexLock lock(&mu_);
    lookup_context_.reset();
    fill_ = fill;
    cache_status_ = bypass ? "bypass" : "miss";
    if (gone_) {
      release = EndLocked(absl::CancelledError("the caller went away"));
    } else if (from_cache_ > 0) {
      // Part of the leader's answer already reached the client.
      release = EndLocked(absl::UnavailableError(
          "the identical request this one shared failed upstream"));
    } else {
      release = GoUpstreamLocked();
    }
  }
  if (release) Release();
  Release();  // the lookup's hold
}

bool StreamExecution::GoUpstreamLocked() {
  absl::StatusOr<PreparedRoute> route = core_->Prepare(call_->request());
  if (!route.ok()) return EndLocked(route.status());
  route_ = *std::move(route);
  loop_.emplace(core_->retry(), route_.order, &core_->health());
  return StepLocked();
}

bool StreamExecution::StepLocked() {
  if (gone_) return EndLocked(absl::CancelledError("the caller went away"));
  absl::Time now = absl::Now();
  AttemptLoop::Step step = loop_->Next(now);
  switch (step.action) {
    case AttemptLoop::Step::Action::kGiveUp:
      return EndLocked(step.status);
    case AttemptLoop::Step::Action::kWait: {
      absl::Time wake = now + step.wait;
      if (wake > absl::FromChrono(context_->deadline())) {
        return EndLocked(absl::DeadlineExceededError(absl::StrCat(
            "the request's deadline comes before the next retry (",
            loop_->reason(), ")")));
      }
      waiting_ = true;
      alarm_ = std::make_unique<grpc::Alarm>();
      alarm_->Set(absl::ToChronoTime(wake), [this](bool) { OnAlarm(); });
      return false;
    }
    case AttemptLoop::Step::Action::kAttempt:
      break;
  }
  sluice::v1::Adapter::Stub* stub = core_->adapters();
  if (stub == nullptr) {
    return EndLocked(absl::UnavailableError(absl::StrCat(
        "service ", core_->adapters_service(), " is not reachable")));
  }
  const Candidate& candidate = *step.candidate;
  // A fresh request object per attempt: the previous reader may still hold
  // its own until its call is torn down.
  auto call = std::make_shared<sluice::v1::AdapterRequest>(*call_);
  call->set_provider(candidate.provider);
  call->set_upstream_model(candidate.model);
  attempt_context_ = host::ChildContext(*context_, kDefaultTimeout);
  attempt_start_ = now;
  core_->metrics().Attempt(candidate.route());
  (new AttemptReader(this, ++attempt_, attempt_context_, std::move(call)))
      ->Start(stub);
  return false;
}

void StreamExecution::OnAlarm() {
  bool release;
  {
    absl::MutexLock lock(&mu_);
    waiting_ = false;
    release = StepLocked();
  }
  // May delete this (and the alarm whose callback this is: safe, the alarm
  // keeps its own reference while its callback runs).
  if (release) Release();
}

const std::string& StreamExecution::TenantLocked() const {
  return call_->request().context().tenant();
}

void StreamExecution::EmitLocked(ChatChunk chunk) {
  if (fill_ != nullptr) {
    fill_->Chunk(chunk);
    assembled_.Add(chunk);
  }
  Push(std::move(chunk));
}

void StreamExecution::StampDecisionLocked(sluice::v1::RouteDecision* decision) {
  *decision = route_.decision;
  decision->set_cache(cache_status_);
  decision->set_attempts(loop_->attempts());
  decision->set_upstream_us(
      absl::ToInt64Microseconds(loop_->UpstreamTime(absl::Now())));
  if (!loop_->reason().empty()) {
    decision->set_reason(decision->reason().empty()
                             ? loop_->reason()
                             : absl::StrCat(decision->reason(), ";",
                                            loop_->reason()));
  }
}

void StreamExecution::CommitLocked() {
  committed_ = true;
  for (size_t i = 0; i < held_.size(); ++i) {
    if (i == 0) StampDecisionLocked(held_[i].mutable_decision());
    EmitLocked(std::move(held_[i]));
  }
  held_.clear();
}

void StreamExecution::OnChunk(int attempt, ChatChunk chunk) {
  absl::MutexLock lock(&mu_);
  if (attempt != attempt_ || ended_) return;
  if (head_.id().empty()) {
    head_.set_id(chunk.id());
    head_.set_created(chunk.created());
    head_.set_model(chunk.model());
    head_.set_route(chunk.route());
  }
  if (chunk.has_usage() && chunk.choices().empty()) {
    // Sent last, with the final decision.
    usage_ = std::move(chunk);
    return;
  }
  for (const sluice::v1::ChunkChoice& choice : chunk.choices()) {
    if (choice.finish_reason() == "length") route_.decision.set_truncated(true);
    absl::StrAppend(&text_, choice.delta().reasoning_content(),
                    choice.delta().text());
    for (const sluice::v1::ToolCall& call : choice.delta().tool_calls()) {
      absl::StrAppend(&text_, call.function_name(), call.function_arguments());
    }
  }
  bool content = HasContent(chunk);
  held_.push_back(std::move(chunk));
  if (committed_ || content) CommitLocked();
}

void StreamExecution::SendUsageLocked() {
  ChatChunk usage;
  if (usage_.has_value()) {
    usage = std::move(*usage_);
    usage_.reset();
  } else {
    usage = head_;
    *usage.mutable_usage() = core_->EstimateUsage(route_, text_);
  }
  StampDecisionLocked(usage.mutable_decision());
  core_->Price(head_.route(), usage.usage(), TenantLocked(),
               *usage.mutable_decision());
  EmitLocked(std::move(usage));
}

void StreamExecution::OnAttemptDone(int attempt, const grpc::Status& grpc_status) {
  bool release;
  {
    absl::MutexLock lock(&mu_);
    if (attempt != attempt_ || ended_) return;
    attempt_context_.reset();
    absl::Time now = absl::Now();
    absl::Duration latency = now - attempt_start_;
    const std::string route = loop_->current()->route();
    absl::Status status = status::FromGrpcStatus(grpc_status);
    if (status.ok()) {
      core_->metrics().Success(route, latency);
      loop_->Succeeded(latency, now);
      CommitLocked();
      SendUsageLocked();
      release = EndLocked(status);
    } else if (gone_) {
      loop_->Abandoned(now);
      release = EndLocked(absl::CancelledError("the caller went away"));
    } else if (CallerDeadlinePassed(*context_, now)) {
      loop_->Abandoned(now);
      release =
          EndLocked(absl::DeadlineExceededError("the caller's deadline passed"));
    } else {
      core_->metrics().Failure(route, ClassifyFailure(status).kind, latency);
      loop_->Failed(status, now);
      if (!committed_) {
        // Nothing reached the client: another attempt may still serve it.
        held_.clear();
        text_.clear();
        usage_.reset();
        head_.Clear();
        route_.decision.set_truncated(false);
        release = StepLocked();
      } else {
        ChatChunk last = head_;
        sluice::v1::ChunkChoice* choice = last.add_choices();
        choice->mutable_delta();
        choice->set_finish_reason("error");
        Push(std::move(last));
        SendUsageLocked();
        release = EndLocked(status);
      }
    }
  }
  if (release) Release();
}

bool StreamExecution::EndLocked(const absl::Status& status) {
  if (ended_) return false;
  ended_ = true;
  if (fill_ != nullptr) {
    CacheFill* fill = std::exchange(fill_, nullptr);
    if (!status.ok()) {
      fill->Abandon();
      fill->Close();
    } else {
      // The stream ends once the cache has the answer: an identical request
      // after this one then finds it stored. The execution's own hold is
      // given back then.
      fill->Answer(assembled_.Response());
      fill->Close([this] {
        End(grpc::Status::OK);
        Release();
      });
      return false;
    }
  }
  End(status::ToGrpcStatus(status));
  return true;
}

void StreamExecution::OnDownstreamGone() {
  std::shared_ptr<grpc::ClientContext> attempt;
  std::shared_ptr<grpc::ClientContext> lookup;
  {
    absl::MutexLock lock(&mu_);
    gone_ = true;
    attempt = attempt_context_;
    lookup = lookup_context_;
    if (waiting_ && alarm_ != nullptr) alarm_->Cancel();
  }
  if (attempt != nullptr) attempt->TryCancel();
  if (lookup != nullptr) lookup->TryCancel();
}

}  // namespace sluice::router
