// x-sim-* header parsing; see controls.h.
#include "tools/upstream-sim/controls.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sluice::sim {
namespace {

// Reads a non-negative integer header into `value` when present.
absl::Status ReadInt(const http::Request& request, absl::string_view name,
                     int& value) {
  absl::string_view text = request.Header(name);
  if (text.empty()) return absl::OkStatus();
  int parsed = 0;
  if (!absl::SimpleAtoi(text, &parsed) || parsed < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " must be a non-negative integer, got \"", text, "\""));
  }
  value = parsed;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RequestControls> ReadControls(const http::Request& request,
                                             absl::Duration default_ttft,
                                             absl::Duration default_per_token) {
  RequestControls controls;
  int ttft_ms = -1, token_ms = -1;
  for (auto [name, value] :
       {std::pair<absl::string_view, int*>{"x-sim-ttft-ms", &ttft_ms},
        {"x-sim-token-ms", &token_ms},
        {"x-sim-fault-after", &controls.fault_after_tokens},
        {"x-sim-retry-after", &controls.retry_after_seconds},
        {"x-sim-keepalive", &controls.keepalives}}) {
    absl::Status status = ReadInt(request, name, *value);
    if (!status.ok()) return status;
  }
  controls.ttft = ttft_ms >= 0 ? absl::Milliseconds(ttft_ms) : default_ttft;
  controls.per_token =
      token_ms >= 0 ? absl::Milliseconds(token_ms) : default_per_token;
  absl::string_view fault = request.Header("x-sim-fault");
  if (!fault.empty()) {
    controls.fault = ParseFault(fault);
    if (!controls.fault.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown x-sim-fault \"", fault, "\""));
    }
  }
  return controls;
}

}  // namespace sluice::sim
