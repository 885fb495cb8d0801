// The semantic rules every chat request meets at ingress, whatever brought
// it (HTTP, gRPC, an async job, a batch line), beyond what the codec checks.
#pragma once

#include <cstddef>

#include "absl/status/status.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::ingress {

// The longest `model` accepted (real names are a few dozen characters).
inline constexpr size_t kMaxModelBytes = 256;

// Checks the rules shared by both APIs (model, messages, n).
absl::Status ValidateChatRequest(const sluice::v1::ChatRequest& request);

}  // namespace sluice::ingress
