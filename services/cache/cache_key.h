// The cache key of a request: SHA-256 over the tenant, the resolved model
// and the canonical form of everything that changes the answer (messages,
// tools, tool choice, sampling parameters, output limits, response format,
// provider extras). JSON texts are canonicalised (object keys sorted, no
// whitespace), so key order and spacing do not change the key; what does
// not change the answer (stream, include_usage, user, metadata, request
// context) is left out, so a streamed and a unary request share an entry.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::cache {

std::string CacheKey(const sluice::v1::ChatRequest& request,
                     absl::string_view tenant,
                     absl::string_view resolved_model);

// `json` with object keys sorted and no insignificant whitespace; text that
// is not JSON comes back unchanged.
std::string CanonicalJson(absl::string_view json);

}  // namespace sluice::cache
