#include "services/ingress/route_headers.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace sluice::ingress {
namespace {

// Reasons are built from config names and our own words; still, a header
// value must never carry a line break or control character.
std::string HeaderSafe(const std::string& value) {
  std::string safe;
  safe.reserve(value.size());
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    safe.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  if (safe.size() > 512) safe.resize(512);
  return safe;
}

}  // namespace

void AppendDecisionHeaders(const sluice::v1::RouteDecision& decision,
                           http::Headers& headers) {
  if (!decision.cache().empty()) {
    headers.emplace_back("x-sluice-cache", HeaderSafe(decision.cache()));
  }
  if (!decision.task().empty()) {
    headers.emplace_back("x-sluice-task", HeaderSafe(decision.task()));
    headers.emplace_back("x-sluice-task-reason",
                         HeaderSafe(decision.task_reason()));
  }
  if (decision.prompt_tokens_estimate() > 0) {
    // The count routing decided with: the tokenizer's ("exact"), or an
    // upper bound when the prompt's size alone settled every decision.
    headers.emplace_back("x-sluice-prompt-tokens",
                         absl::StrCat(decision.prompt_tokens_estimate()));
    headers.emplace_back("x-sluice-prompt-count",
                         decision.prompt_tokens_exact() ? "exact" : "bound");
  }
  if (decision.attempts() > 0) {
    headers.emplace_back("x-sluice-attempts",
                         absl::StrCat(decision.attempts()));
  }
  if (!decision.reason().empty()) {
    headers.emplace_back("x-sluice-route-reason", HeaderSafe(decision.reason()));
  }
  if (decision.truncated()) headers.emplace_back("x-sluice-truncated", "true");
}

}  // namespace sluice::ingress
