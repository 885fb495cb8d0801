#include "services/adapters/adapters_impl.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/host/cancel_binding.h"
#include "libs/status/errors.h"
#include "services/adapters/anthropic_provider.h"
#include "services/adapters/api_key_ring.h"
#include "services/adapters/openai_provider.h"
#include "services/adapters/upstream_span.h"
#include "services/adapters/worker_provider.h"

namespace sluice::adapters {
namespace {

using sluice::v1::ChatChunk;

absl::Status Stopping() {
  return absl::UnavailableError("the adapters are shutting down");
}

// One streamed call: passes the provider's chunks on, and when the stream
// ends lets go of the call's ticket and cancel hook before the caller
// hears of it.
class TrackedStream final : public ChunkSink {
 public:
  TrackedStream(host::CallTracker::Ticket ticket,
                std::shared_ptr<host::CancelBinding> binding, ChunkSink* out,
                trace::ActiveSpan span,
                const std::vector<std::string>* provider_keys)
      : ticket_(std::move(ticket)),
        binding_(std::move(binding)),
        out_(out),
        span_(std::move(span)),
        provider_keys_(provider_keys) {}

  // ChunkSink
  void Start(host::FlowPtr flow) override { out_->Start(std::move(flow)); }
  bool Next(ChatChunk chunk) override {
    if (span_.recording()) {
      if (model_.empty()) model_ = chunk.model();
      if (chunk.has_usage()) usage_ = chunk.usage();
    }
    return out_->Next(std::move(chunk));
  }
  // The caller hears the end before the ticket goes: once a drain sees no
  // tickets, every caller has its answer.
  void Done(absl::Status status) override {
    binding_->End();
    status = status::RedactValues(status, *provider_keys_);
    EndUpstreamSpan(span_, status, usage_.has_value() ? &*usage_ : nullptr,
                    model_);
    out_->Done(std::move(status));
    delete this;
  }

 private:
  host::CallTracker::Ticket ticket_;
  std::shared_ptr<host::CancelBinding> binding_;
  ChunkSink* out_;
  trace::ActiveSpan span_;
  const std::vector<std::string>* provider_keys_;
  std::string model_;
  std::optional<sluice::v1::Usage> usage_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AdaptersImpl>> AdaptersImpl::Create(
    const sluice::v1::Config& config, worker::Worker* worker,
    boost::asio::io_context* io, const host::InternalAuth* auth) {
  std::unique_ptr<AdaptersImpl> adapters(new AdaptersImpl());
  upstream::HttpClientOptions options;
  options.io = io;
  absl::StatusOr<upstream::HttpClientPtr> client =
      upstream::HttpClient::Create(options);
  if (!client.ok()) return client.status();
  adapters->client_ = *std::move(client);
  for (const auto& provider : config.providers()) {
    ProviderPtr made;
    switch (provider.kind()) {
      case sluice::v1::PROVIDER_KIND_OPENAI:
        made = std::make_unique<OpenAIProvider>(provider, adapters->client_.get());
        break;
      case sluice::v1::PROVIDER_KIND_ANTHROPIC:
        made = std::make_unique<AnthropicProvider>(provider,
                                                   adapters->client_.get());
        break;
      case sluice::v1::PROVIDER_KIND_WORKER:
        made = std::make_unique<WorkerProvider>(provider, worker, auth);
        break;
      default:
        continue;
    }
    adapters->providers_[provider.name()] = std::move(made);
    for (std::string& key : ApiKeysFromEnv(provider)) {
      adapters->provider_keys_.push_back(std::move(key));
    }
  }
  return adapters;
}

AdaptersImpl::~AdaptersImpl() {
  // The client's calls end (CANCELLED) while the providers still exist.
  client_.reset();
}

absl::StatusOr<Provider*> AdaptersImpl::Find(const std::string& name) const {
  auto it = providers_.find(name);
  if (it == providers_.end()) {
    return absl::UnimplementedError(
        absl::StrCat("no adapter for provider \"", name, "\""));
  }
  return it->second.get();
}

void AdaptersImpl::Complete(host::CallContextPtr context,
                            sluice::v1::AdapterRequest request,
                            host::Callback<sluice::v1::ChatResponse> done) {
  host::CallTracker::Ticket ticket = calls_.Enter(context);
  if (!ticket) return std::move(done)(Stopping());
  absl::StatusOr<Provider*> provider = Find(request.provider());
  if (!provider.ok()) return std::move(done)(provider.status());
  struct Call {
    explicit Call(host::CallContextPtr context) : binding(std::move(context)) {}
    host::CallTracker::Ticket ticket;
    host::CancelBinding binding;
    host::Callback<sluice::v1::ChatResponse> done;
    trace::ActiveSpan span;
  };
  auto call = std::make_shared<Call>(context);
  call->ticket = std::move(ticket);
  call->done = std::move(done);
  call->span = StartUpstreamSpan(*context, request);
  CancelCall cancel = (*provider)->Complete(
      context, request,
      [call, keys = &provider_keys_](
          absl::StatusOr<sluice::v1::ChatResponse> result) {
        call->binding.End();
        if (!result.ok()) result = status::RedactValues(result.status(), *keys);
        EndUpstreamSpan(call->span, result.status(),
                        result.ok() ? &result->usage() : nullptr,
                        result.ok() ? result->model() : std::string());
        std::move(call->done)(std::move(result));
        call->ticket = host::CallTracker::Ticket();
      });
  call->binding.Bind(std::move(cancel));
}

void AdaptersImpl::StreamComplete(host::CallContextPtr context,
                                  sluice::v1::AdapterRequest request,
                                  host::Sink<ChatChunk>* sink) {
  host::CallTracker::Ticket ticket = calls_.Enter(context);
  if (!ticket) return sink->Done(Stopping());
  absl::StatusOr<Provider*> provider = Find(request.provider());
  if (!provider.ok()) return sink->Done(provider.status());
  // Shared: the stream may end (and be gone) before Stream() returns.
  auto binding = std::make_shared<host::CancelBinding>(context);
  auto* stream =
      new TrackedStream(std::move(ticket), binding, sink,
                        StartUpstreamSpan(*context, request), &provider_keys_);
  binding->Bind((*provider)->Stream(context, request, stream));
}

}  // namespace sluice::adapters
