// Answers an HTTP request with an error in OpenAI's JSON shape.
#pragma once

#include "absl/status/status.h"
#include "libs/http/server.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::ingress {

// Responds with the status's HTTP code and OpenAI error body; returns the
// error as sent (for the usage record).
sluice::v1::Error RespondWithError(http::ResponseWriter& writer,
                                   const absl::Status& status,
                                   http::Headers headers);

}  // namespace sluice::ingress
