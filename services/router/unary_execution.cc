#include "services/router/unary_execution.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/host/call_context.h"
#include "libs/status/grpc_status.h"
#include "services/router/cache_lookup.h"
#include "services/router/failure_class.h"

namespace sluice::router {
namespace {

constexpr absl::Duration kDefaultTimeout = absl::Minutes(10);

bool Truncated(const sluice::v1::ChatResponse& response) {
  for (const sluice::v1::Choice& choice : response.choices()) {
    if (choice.finish_reason() == "length") return true;
  }
  return false;
}

bool HasUsage(const sluice::v1::Usage& usage) {
  return usage.prompt_tokens() > 0 || usage.completion_tokens() > 0;
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

}  // namespace

void UnaryExecution::Start(RouterCore* core,
                           grpc::CallbackServerContext* context,
                           grpc::ServerUnaryReactor* reactor,
                           const sluice::v1::ChatRequest& request,
                           sluice::v1::ChatResponse* response) {
  auto execution =
      std::make_shared<UnaryExecution>(core, context, reactor, response);
  *execution->call_.mutable_request() = request;
  absl::StatusOr<std::string> model = core->ResolveModel(request);
  if (!model.ok()) return execution->Finish(model.status());
  if (core->cache() == nullptr) return execution->GoUpstream();
  if (core->CacheFor(request) == nullptr) {
    execution->cache_status_ = "bypass";
    return execution->GoUpstream();
  }
  execution->LookUp(*model);
}

UnaryExecution::UnaryExecution(RouterCore* core,
                               grpc::CallbackServerContext* context,
                               grpc::ServerUnaryReactor* reactor,
                               sluice::v1::ChatResponse* response)
    : core_(core), context_(context), reactor_(reactor), response_(response) {}

void UnaryExecution::LookUp(const std::string& resolved_model) {
  sluice::v1::CacheLookupRequest lookup;
  *lookup.mutable_request() = call_.request();
  lookup.set_resolved_model(resolved_model);
  std::shared_ptr<UnaryExecution> self = shared_from_this();
  CacheLookupHandlers handlers;
  handlers.on_hit = [self](sluice::v1::CachedAnswer answer) {
    self->FinishFromCache(std::move(*answer.mutable_response()), "hit");
  };
  handlers.on_done = [self](sluice::v1::ChatResponse response) {
    self->FinishFromCache(std::move(response), "shared");
  };
  handlers.on_chunk = [](sluice::v1::ChatChunk) {};
  handlers.on_lead = [self](std::string lease) {
    self->cache_status_ = "miss";
    if (sluice::v1::Cache::Stub* cache = self->core_->cache()) {
      self->fill_ = CacheFill::Start(cache, lease);
    }
    self->GoUpstream();
  };
  handlers.on_miss = [self](bool bypass) {
    self->cache_status_ = bypass ? "bypass" : "miss";
    self->GoUpstream();
  };
  StartCacheLookup(core_->cache(),
                   host::ChildContext(*context_, kDefaultTimeout),
                   std::move(lookup), std::move(handlers));
}

void UnaryExecution::FinishFromCache(sluice::v1::ChatResponse response,
                                     const char* cache) {
  *response_ = std::move(response);
  sluice::v1::RouteDecision* decision = response_->mutable_decision();
  decision->Clear();
  decision->set_cache(cache);
  core_->Price(response_->route(), response_->usage(),
               call_.request().context().tenant(), *decision);
  reactor_->Finish(grpc::Status::OK);
}

void UnaryExecution::GoUpstream() {
  absl::StatusOr<PreparedRoute> route = core_->Prepare(call_.request());
  if (!route.ok()) return Finish(route.status());
  route_ = *std::move(route);
  loop_.emplace(core_->retry(), route_.order, &core_->health());
  Step();
}

void UnaryExecution::Step() {
  if (context_->IsCancelled()) {
    return Finish(absl::CancelledError("the caller went away"));
  }
  absl::Time now = absl::Now();
  AttemptLoop::Step step = loop_->Next(now);
  switch (step.action) {
    case AttemptLoop::Step::Action::kAttempt:
      return Attempt(*step.candidate);
    case AttemptLoop::Step::Action::kWait: {
      absl::Time wake = now + step.wait;
      if (wake > absl::FromChrono(context_->deadline())) {
        return Finish(absl::DeadlineExceededError(absl::StrCat(
            "the request's deadline comes before the next retry (",
            loop_->reason(), ")")));
      }
      // The alarm must not own the execution that owns it: the wait holds
      // it through `waiting_` and the callback lets go.
      waiting_ = shared_from_this();
      alarm_ = std::make_unique<grpc::Alarm>();
      alarm_->Set(absl::ToChronoTime(wake), [this](bool) {
        std::shared_ptr<UnaryExecution> self = std::move(waiting_);
        Step();
      });
      return;
    }
    case AttemptLoop::Step::Action::kGiveUp:
      return Finish(step.status);
  }
}

void UnaryExecution::Attempt(const Candidate& candidate) {
  sluice::v1::Adapter::Stub* stub = core_->adapters();
  if (stub == nullptr) {
    return Finish(absl::UnavailableError(absl::StrCat(
        "service ", core_->adapters_service(), " is not reachable")));
  }
  call_.set_provider(candidate.provider);
  call_.set_upstream_model(candidate.model);
  attempt_context_ = host::ChildContext(*context_, kDefaultTimeout);
  attempt_response_.Clear();
  attempt_start_ = absl::Now();
  core_->metrics().Attempt(candidate.route());
  stub->async()->Complete(
      attempt_context_.get(), &call_, &attempt_response_,
      [self = shared_from_this()](grpc::Status status) {
        self->OnAttemptDone(status);
      });
}

void UnaryExecution::OnAttemptDone(const grpc::Status& grpc_status) {
  absl::Time now = absl::Now();
  absl::Duration latency = now - attempt_start_;
  const std::string route = loop_->current()->route();
  absl::Status status = status::FromGrpcStatus(grpc_status);
  if (!status.ok()) {
    if (context_->IsCancelled()) {
      loop_->Abandoned(now);
      return Finish(absl::CancelledError("the caller went away"));
    }
    if (CallerDeadlinePassed(*context_, now)) {
      loop_->Abandoned(now);
      return Finish(absl::DeadlineExceededError("the caller's deadline passed"));
    }
    core_->metrics().Failure(route, ClassifyFailure(status).kind, latency);
    loop_->Failed(status, now);
    return Step();
  }
  core_->metrics().Success(route, latency);
  loop_->Succeeded(latency, now);
  if (Truncated(attempt_response_)) {
    route_.decision.set_truncated(true);
    if (route_.plan.on_truncation == sluice::v1::TRUNCATION_POLICY_ESCALATE &&
        loop_->Escalate(now)) {
      return Step();
    }
  }
  *response_ = std::move(attempt_response_);
  if (!HasUsage(response_->usage())) {
    *response_->mutable_usage() =
        core_->EstimateUsage(route_, AnswerText(*response_));
  }
  Finish(absl::OkStatus());
}

void UnaryExecution::Finish(const absl::Status& status) {
  sluice::v1::RouteDecision& decision = route_.decision;
  decision.set_cache(cache_status_);
  if (loop_.has_value()) {
    decision.set_attempts(loop_->attempts());
    decision.set_upstream_us(
        absl::ToInt64Microseconds(loop_->UpstreamTime(absl::Now())));
    if (!loop_->reason().empty()) {
      decision.set_reason(decision.reason().empty()
                              ? loop_->reason()
                              : absl::StrCat(decision.reason(), ";",
                                             loop_->reason()));
    }
  }
  if (status.ok()) {
    core_->Price(response_->route(), response_->usage(),
                 call_.request().context().tenant(), decision);
    *response_->mutable_decision() = decision;
  }
  if (fill_ != nullptr) {
    // The answer goes to the client once the cache has it: an identical
    // request after this one then finds it stored.
    if (status.ok()) {
      fill_->Answer(*response_);
    } else {
      fill_->Abandon();
    }
    CacheFill* fill = std::exchange(fill_, nullptr);
    grpc::ServerUnaryReactor* reactor = reactor_;
    grpc::Status grpc_status = status::ToGrpcStatus(status);
    fill->Close([reactor, grpc_status, self = shared_from_this()] {
      reactor->Finish(grpc_status);
    });
    return;
  }
  reactor_->Finish(status::ToGrpcStatus(status));
}

}  // namespace sluice::router
