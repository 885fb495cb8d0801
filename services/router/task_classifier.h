// Decides the task class of a chat request (code_generation,
// complex_reasoning, long_context, simple_qa, or any class a rule names),
// which route plans are chosen by. Order of precedence:
//   1. the client's x-sluice-task header (RequestContext.task): "header";
//   2. config rules (router.task_rules), in order, the first that applies to
//      the tenant and whose conditions all hold: "rule:<index>";
//   3. built-ins: long_context ("builtin:long_context"), code_generation
//      ("builtin:code"), complex_reasoning ("builtin:reasoning");
//   4. simple_qa: "default".
// Text conditions look at the last user message only (text content, or its
// text parts joined by newlines), never at system prompts or earlier turns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "re2/re2.h"
#include "sluice/v1/chat.pb.h"
#include "sluice/v1/config.pb.h"

namespace sluice::router {

struct TaskDecision {
  std::string task;
  // "header", "rule:<index in router.task_rules>", "builtin:long_context",
  // "builtin:code", "builtin:reasoning" or "default".
  std::string reason;
};

class TaskClassifier {
 public:
  // Compiles router.task_rules. A pattern RE2 rejects is INVALID_ARGUMENT
  // naming "router.task_rules[i].patterns[j]" and RE2's error.
  static absl::StatusOr<std::unique_ptr<TaskClassifier>> Create(
      const sluice::v1::RouterConfig& config);

  // Thread-safe (read-only after Create). `prompt_tokens` is the caller's
  // count of the prompt (0 when unknown: long-context checks then fail).
  TaskDecision Classify(const sluice::v1::ChatRequest& request,
                        absl::string_view tenant, int64_t prompt_tokens) const;

  // The smallest prompt token count that can change `tenant`'s class (the
  // long-context threshold, or a rule's min_prompt_tokens): a request whose
  // count is known to be below it is classified the same by any count
  // below it, so an upper bound serves as well as the exact count.
  int64_t TokenThreshold(absl::string_view tenant) const;

 private:
  // One TaskRule, compiled. A rule with no conditions at all matches every
  // request of its tenant(s): a catch-all placed last overrides built-ins.
  struct Rule {
    std::string task;
    std::string tenant;
    std::unique_ptr<RE2> keywords;  // null: no keyword condition
    std::vector<std::unique_ptr<RE2>> patterns;
    bool tools_present = false;
    int32_t min_messages = 0;
    int64_t min_prompt_tokens = 0;
  };

  TaskClassifier() = default;
  bool RuleHolds(const Rule& rule, const sluice::v1::ChatRequest& request,
                 absl::string_view text, int64_t prompt_tokens) const;

  std::vector<Rule> rules_;
  int64_t long_context_tokens_ = 0;
  std::unique_ptr<RE2> code_keywords_;
  std::vector<std::unique_ptr<RE2>> code_lines_;
  std::unique_ptr<RE2> reasoning_keywords_;
};

// Compiles `keywords` into one case-insensitive RE2 that finds any of them
// as whole words: a keyword edge that is a letter, digit or '_' must not
// touch another such character ("sql" does not match "sequel" or "mysql",
// "c++" matches "c++17" because its right edge is '+'; any non-ASCII
// character counts as a letter). Spaces inside a
// keyword match any run of whitespace. Exposed for tests.
absl::StatusOr<std::unique_ptr<RE2>> CompileKeywords(
    const std::vector<std::string>& keywords);

}  // namespace sluice::router
