// Ingress as one unit: the HTTP API server, the gRPC Gateway service and the
// usage reporter they share.
#pragma once

#include <memory>

#include "libs/host/service_host.h"
#include "libs/http/server.h"
#include "libs/kafka/producer.h"
#include "libs/keystore/cached_key_store.h"
#include "libs/keystore/key_store.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/chat_admission.h"
#include "services/ingress/gateway_service.h"
#include "services/ingress/http_api.h"
#include "services/ingress/rate_gate.h"
#include "services/ingress/stream_slots.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

class IngressServer {
 public:
  // Connects the usage producer to `brokers`. Register grpc_service() with
  // the host, start the host, then StartHttp().
  static absl::StatusOr<std::unique_ptr<IngressServer>> Create(
      const sluice::v1::Config& config, const std::string& brokers,
      host::ChannelProvider* channels);
  ~IngressServer();

  grpc::Service* grpc_service() { return gateway_.get(); }
  // Serves HTTP on config.server.http_listen.
  absl::Status StartHttp();
  uint16_t http_port() const { return server_->port(); }
  // What /ready answers: OK when requests can be served (keys read, a
  // router hosted or configured, limits checkable when they fail closed).
  absl::Status Ready() const;
  void Shutdown();

 private:
  IngressServer() = default;

  keystore::CachedKeyStore* key_cache_ = nullptr;  // keys_, typed
  keystore::KeyStorePtr keys_;
  std::unique_ptr<ApiKeyAuth> auth_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<UsageReporter> usage_;
  std::unique_ptr<RateGate> gate_;
  std::unique_ptr<StreamSlots> slots_;
  std::unique_ptr<ChatAdmission> admission_;
  std::unique_ptr<GatewayService> gateway_;
  std::unique_ptr<HttpApi> api_;
  http::ServerOptions options_;
  http::ServerPtr server_;
  host::ChannelProvider* channels_ = nullptr;
};

}  // namespace sluice::ingress
