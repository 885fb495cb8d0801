// x-sim-* header (and prompt word) parsing; see controls.h.
#include "tools/upstream-sim/controls.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sluice::sim {
namespace {

// The controls a request names: each header, then each `x-sim-NAME=VALUE`
// word of the prompt (later ones win).
class Named {
 public:
  Named(const http::Request& request, absl::string_view prompt)
      : request_(request) {
    for (absl::string_view word : absl::StrSplit(
             prompt, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
      if (!absl::StartsWith(word, "x-sim-")) continue;
      std::pair<absl::string_view, absl::string_view> pair =
          absl::StrSplit(word, absl::MaxSplits('=', 1));
      words_.emplace_back(pair.first, pair.second);
    }
  }

  absl::string_view Get(absl::string_view name) const {
    for (auto it = words_.rbegin(); it != words_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    return request_.Header(name);
  }

 private:
  const http::Request& request_;
  std::vector<std::pair<absl::string_view, absl::string_view>> words_;
};

// Reads a non-negative integer control into `value` when present.
absl::Status ReadInt(const Named& named, absl::string_view name, int& value) {
  absl::string_view text = named.Get(name);
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
                                             absl::string_view prompt,
                                             absl::Duration default_ttft,
                                             absl::Duration default_per_token) {
  Named named(request, prompt);
  RequestControls controls;
  int ttft_ms = -1, token_ms = -1, times = -1;
  for (auto [name, value] :
       {std::pair<absl::string_view, int*>{"x-sim-ttft-ms", &ttft_ms},
        {"x-sim-token-ms", &token_ms},
        {"x-sim-fault-after", &controls.fault_after_tokens},
        {"x-sim-retry-after", &controls.retry_after_seconds},
        {"x-sim-keepalive", &controls.keepalives},
        {"x-sim-fault-times", &times}}) {
    absl::Status status = ReadInt(named, name, *value);
    if (!status.ok()) return status;
  }
  controls.ttft = ttft_ms >= 0 ? absl::Milliseconds(ttft_ms) : default_ttft;
  controls.per_token =
      token_ms >= 0 ? absl::Milliseconds(token_ms) : default_per_token;
  if (times >= 0) controls.fault_times = times;
  absl::string_view fault = named.Get("x-sim-fault");
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
