// The router's decision as response headers: x-sluice-cache (hit, miss,
// shared, bypass), x-sluice-task,
// x-sluice-task-reason, x-sluice-attempts, x-sluice-route-reason and, for a
// truncated unary answer, x-sluice-truncated.
#pragma once

#include "libs/http/server.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::ingress {

void AppendDecisionHeaders(const sluice::v1::RouteDecision& decision,
                           http::Headers& headers);

}  // namespace sluice::ingress
