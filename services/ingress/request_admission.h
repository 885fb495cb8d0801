// What every chat request goes through at ingress, whether it came over HTTP
// or gRPC: authentication, validation of what the codec cannot check, and the
// request context (request id, tenant, trace) stamped onto it.
#pragma once

#include "absl/strings/string_view.h"
#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/chat_request_rules.h"
#include "services/ingress/request_record.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::ingress {

// What a chat request brings besides its body (HTTP headers or gRPC
// metadata).
struct RequestHeaders {
  absl::string_view authorization;
  // Set only by sluice itself, for work it runs under a stored key (batch
  // lines): the key's lower-case SHA-256 hex. When non-empty, authentication
  // uses it instead of `authorization`. Never taken from a client.
  absl::string_view key_sha256;
  // May be empty: a new trace starts.
  absl::string_view traceparent;
  // x-sluice-task: the task class the client names; empty: classify.
  absl::string_view task;
  // x-sluice-cache: bypass | refresh | force; x-sluice-cache-ttl: seconds.
  absl::string_view cache;
  absl::string_view cache_ttl;
  // An async job or batch line, not a client waiting (set by sluice).
  bool batch = false;
};

// The caller `headers` name: by `key_sha256` when set, else by
// `authorization`.
absl::StatusOr<Caller> AuthenticateHeaders(const ApiKeyAuth& auth,
                                           const RequestHeaders& headers);

// Authenticates, validates `request` (the key's model list included) and
// fills its context (the key's cache mode and priority included) and the
// record's caller fields. On error the record is left for the caller to
// finish.
absl::StatusOr<Caller> AdmitChatRequest(const ApiKeyAuth& auth,
                                        const RequestHeaders& headers,
                                        sluice::v1::ChatRequest& request,
                                        RequestRecord& record);
// AdmitChatRequest for a caller already authenticated (or refused).
absl::StatusOr<Caller> AdmitChatRequestAs(absl::StatusOr<Caller> caller,
                                          const RequestHeaders& headers,
                                          sluice::v1::ChatRequest& request,
                                          RequestRecord& record);

// The client's own id for a request: its `x-client-request-id` header (the
// name OpenAI's API uses), else its `x-request-id`, when sane (at most 128
// of [A-Za-z0-9._-]); else empty. Sluice keeps it beside its own id for the
// client's correlation and never keys anything on it.
std::string ClientRequestId(absl::string_view client_request_id_header,
                            absl::string_view request_id_header);

}  // namespace sluice::ingress
