// POST /v1/token-count: the prompt tokens of a chat request (same body as
// /v1/chat/completions) as the routed model's real tokenizer counts them,
// chat template included. Answered by the router, which owns the
// tokenizers.
#pragma once

#include "libs/host/service_host.h"
#include "libs/http/server.h"
#include "services/ingress/api_key_auth.h"
#include "sluice/v1/router.grpc.pb.h"

namespace sluice::ingress {

class TokenCountHandler {
 public:
  TokenCountHandler(const ApiKeyAuth* auth, host::ChannelProvider* channels)
      : auth_(auth), router_(channels, "router") {}

  void Handle(http::Request request, http::ResponseWriterPtr writer);

 private:
  const ApiKeyAuth* auth_;
  host::LazyStub<sluice::v1::Router> router_;
};

}  // namespace sluice::ingress
