// One async job as it travels through Kafka, in OpenAI's Batch API file
// format: an input line {"custom_id","method","url","body"}, an output line
// {"id","custom_id","response":{"status_code","request_id","body"},"error"},
// and our dead-letter line for a job that could not run.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::ingress {

// The only endpoint jobs may call (as OpenAI's batches, chat only).
inline constexpr absl::string_view kJobEndpoint = "/v1/chat/completions";

struct JobLine {
  std::string custom_id;
  // The request body, as JSON text.
  std::string body;
};

// INVALID_ARGUMENT naming what is wrong: not a JSON object, no custom_id
// (a non-empty string), a method other than POST, a url other than
// kJobEndpoint, a body that is not an object.
absl::StatusOr<JobLine> ParseJobLine(absl::string_view line);

// The output line of a job that got an answer (any HTTP status):
// `body_json` is the answer's JSON (a chat completion or an error object).
std::string JobResultLine(absl::string_view request_id,
                          absl::string_view custom_id, int status_code,
                          absl::string_view body_json);

// The output line of a job that got no answer (a batch expired or was
// cancelled before it ran): "response" null, "error" {"code","message"}.
std::string JobErrorLine(absl::string_view custom_id, absl::string_view code,
                         absl::string_view message);

// {"job": <the input as received, a string>, "reason", "attempts"}.
std::string JobDeadLetterLine(absl::string_view input, absl::string_view reason,
                              int attempts);

}  // namespace sluice::ingress
