// The HTTP side of ingress: OpenAI-compatible routes plus health, readiness,
// usage and Prometheus metrics.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "libs/host/service_host.h"
#include "libs/http/path_router.h"
#include "libs/http/server.h"
#include "services/ingress/admin_api.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/chat_http_handler.h"
#include "services/ingress/token_count_handler.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/metering.grpc.pb.h"

namespace sluice::ingress {

class HttpApi {
 public:
  // `admission` and `keys` (may be null) must outlive this.
  HttpApi(const sluice::v1::Config& config, ChatAdmission* admission,
          keystore::KeyStore* keys, host::ChannelProvider* channels,
          UsageReporter* usage, std::vector<std::string> models,
          std::function<absl::Status()> ready);

  void Handle(http::Request request, http::ResponseWriterPtr writer) const {
    paths_.Dispatch(std::move(request), std::move(writer));
  }

 private:
  void Models(const http::Request& request, http::ResponseWriter& writer) const;
  void Usage(const http::Request& request, http::ResponseWriterPtr writer);

  const ApiKeyAuth* auth_;
  std::vector<std::string> models_;
  ChatHttpHandler chat_;
  TokenCountHandler token_count_;
  AdminApi admin_;
  host::LazyStub<sluice::v1::Metering> metering_;
  http::PathRouter paths_;
};

}  // namespace sluice::ingress
