// The Adapter gRPC service: dispatches each call to the configured provider.
#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "libs/host/service_host.h"
#include "libs/upstream/http_client.h"
#include "services/adapters/provider.h"
#include "sluice/v1/adapter.grpc.pb.h"
#include "sluice/v1/config.pb.h"

namespace sluice::adapters {

class AdapterService final : public sluice::v1::Adapter::CallbackService {
 public:
  // Builds one provider per config entry. Worker providers reach the worker
  // service through `channels` (without it they are skipped and answer
  // UNIMPLEMENTED); `channels` must outlive the service.
  static absl::StatusOr<std::unique_ptr<AdapterService>> Create(
      const sluice::v1::Config& config,
      host::ChannelProvider* channels = nullptr);

  // sluice::v1::Adapter::CallbackService
  grpc::ServerUnaryReactor* Complete(
      grpc::CallbackServerContext* context,
      const sluice::v1::AdapterRequest* request,
      sluice::v1::ChatResponse* response) override;
  grpc::ServerWriteReactor<sluice::v1::ChatChunk>* StreamComplete(
      grpc::CallbackServerContext* context,
      const sluice::v1::AdapterRequest* request) override;

 private:
  AdapterService() = default;
  absl::StatusOr<Provider*> Find(const std::string& name) const;

  std::unique_ptr<upstream::HttpClient> client_;
  absl::flat_hash_map<std::string, ProviderPtr> providers_;
};

}  // namespace sluice::adapters
