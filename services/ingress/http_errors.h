// Answers an HTTP request with an error in OpenAI's JSON shape.
#pragma once

#include <optional>

#include "absl/status/status.h"
#include "libs/http/server.h"
#include "services/ingress/api_key_auth.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::ingress {

// Responds with the status's HTTP code and OpenAI error body; returns the
// error as sent (for the usage record).
sluice::v1::Error RespondWithError(http::ResponseWriter& writer,
                                   const absl::Status& status,
                                   http::Headers headers);

// The caller of `request` (its Authorization header), or nullopt after
// answering the key's error.
std::optional<Caller> AuthenticateOrRespond(const ApiKeyAuth& auth,
                                            const http::Request& request,
                                            http::ResponseWriter& writer);

}  // namespace sluice::ingress
