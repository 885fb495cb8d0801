// POST /v1/token-count: the prompt tokens of a chat request (same body as
// /v1/chat/completions) as the routed model's real tokenizer counts them,
// chat template included. Answered by the router, which owns the
// tokenizers.
//
// A count is a request of its key like any other: it takes one request of
// the key's and tenant's per-minute request limits (it uses no upstream
// tokens and costs nothing, so token limits and budgets do not apply), and
// it is metered: one usage event with operation "token_count", zero usage
// and price, the count in its decision.
#pragma once

#include "libs/host/call_tracker.h"
#include "libs/http/server.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/rate_gate.h"
#include "services/ingress/usage_reporter.h"
#include "services/router/router.h"

namespace sluice::ingress {

inline constexpr char kTokenCountOperation[] = "token_count";

class TokenCountHandler {
 public:
  // All must outlive the handler; `router` may be null (not reachable).
  TokenCountHandler(const ApiKeyAuth* auth, RateGate* gate,
                    router::Router* router, UsageReporter* usage,
                    host::CallTracker* calls)
      : auth_(auth),
        gate_(gate),
        router_(router),
        usage_(usage),
        calls_(calls) {}

  // The caller's key must be in memory (see KeyLookups::WhenKeyKnown).
  void Handle(http::Request request, http::ResponseWriterPtr writer);

 private:
  const ApiKeyAuth* auth_;
  RateGate* gate_;
  router::Router* router_;
  UsageReporter* usage_;
  host::CallTracker* calls_;
};

}  // namespace sluice::ingress
