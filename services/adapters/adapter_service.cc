#include "services/adapters/adapter_service.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/host/failed_stream.h"
#include "libs/host/queued_stream_writer.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "services/adapters/anthropic_provider.h"
#include "services/adapters/openai_provider.h"
#include "services/adapters/worker_provider.h"

namespace sluice::adapters {
namespace {

using sluice::v1::ChatChunk;

// Answers StreamComplete from a provider's ChunkSink. Holds itself until the
// provider's OnEnd(), the gRPC call's end and the end of Begin().
class ProviderStream : public host::QueuedStreamWriter<ChatChunk>,
                       public ChunkSink {
 public:
  ProviderStream() : host::QueuedStreamWriter<ChatChunk>(/*extra_holds=*/2) {}

  void Begin(Provider* provider, const sluice::v1::AdapterRequest& request) {
    CancelStream cancel = provider->Stream(request, this);
    {
      absl::MutexLock lock(&mu_);
      cancel_ = std::move(cancel);
      if (gone_ && cancel_) cancel_();
    }
    Release();
  }

  // ChunkSink
  void OnChunk(ChatChunk chunk) override { Push(std::move(chunk)); }
  void OnEnd(const absl::Status& status) override {
    End(status::ToGrpcStatus(status));
    Release();
  }

 private:
  // host::QueuedStreamWriter
  void OnDownstreamGone() override {
    absl::MutexLock lock(&mu_);
    gone_ = true;
    if (cancel_) cancel_();
  }

  absl::Mutex mu_;
  CancelStream cancel_ ABSL_GUARDED_BY(mu_);
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AdapterService>> AdapterService::Create(
    const sluice::v1::Config& config, host::ChannelProvider* channels) {
  std::unique_ptr<AdapterService> service(new AdapterService());
  absl::StatusOr<std::unique_ptr<upstream::HttpClient>> client =
      upstream::HttpClient::Create();
  if (!client.ok()) return client.status();
  service->client_ = *std::move(client);
  for (const auto& provider : config.providers()) {
    if (provider.kind() == sluice::v1::PROVIDER_KIND_OPENAI) {
      service->providers_[provider.name()] =
          std::make_unique<OpenAIProvider>(provider, service->client_.get());
    } else if (provider.kind() == sluice::v1::PROVIDER_KIND_ANTHROPIC) {
      service->providers_[provider.name()] =
          std::make_unique<AnthropicProvider>(provider, service->client_.get());
    } else if (provider.kind() == sluice::v1::PROVIDER_KIND_WORKER &&
               channels != nullptr) {
      service->providers_[provider.name()] =
          std::make_unique<WorkerProvider>(provider, channels);
    }
  }
  return service;
}

absl::StatusOr<Provider*> AdapterService::Find(const std::string& name) const {
  auto it = providers_.find(name);
  if (it == providers_.end()) {
    return absl::UnimplementedError(
        absl::StrCat("no adapter for provider \"", name, "\""));
  }
  return it->second.get();
}

grpc::ServerUnaryReactor* AdapterService::Complete(
    grpc::CallbackServerContext* context,
    const sluice::v1::AdapterRequest* request,
    sluice::v1::ChatResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Provider*> provider = Find(request->provider());
  if (!provider.ok()) {
    reactor->Finish(status::ToGrpcStatus(provider.status()));
    return reactor;
  }
  (*provider)->Complete(
      *request,
      [reactor, response](absl::StatusOr<sluice::v1::ChatResponse> result) {
        if (result.ok()) *response = *std::move(result);
        reactor->Finish(status::ToGrpcStatus(result.status()));
      });
  return reactor;
}

grpc::ServerWriteReactor<ChatChunk>* AdapterService::StreamComplete(
    grpc::CallbackServerContext* context,
    const sluice::v1::AdapterRequest* request) {
  absl::StatusOr<Provider*> provider = Find(request->provider());
  if (!provider.ok()) {
    return new host::FailedStream<ChatChunk>(
        status::ToGrpcStatus(provider.status()));
  }
  auto* stream = new ProviderStream();
  stream->Begin(*provider, *request);
  return stream;
}

}  // namespace sluice::adapters
