// POST /v1/token-count: the prompt tokens of a chat request (same body as
// /v1/chat/completions) as the routed model's real tokenizer counts them,
// chat template included. Answered by the router, which owns the
// tokenizers.
#pragma once

#include "libs/host/call_tracker.h"
#include "libs/http/server.h"
#include "services/ingress/api_key_auth.h"
#include "services/router/router.h"

namespace sluice::ingress {

class TokenCountHandler {
 public:
  // All must outlive the handler; `router` may be null (not reachable).
  TokenCountHandler(const ApiKeyAuth* auth, router::Router* router,
                    host::CallTracker* calls)
      : auth_(auth), router_(router), calls_(calls) {}

  void Handle(http::Request request, http::ResponseWriterPtr writer);

 private:
  const ApiKeyAuth* auth_;
  router::Router* router_;
  host::CallTracker* calls_;
};

}  // namespace sluice::ingress
