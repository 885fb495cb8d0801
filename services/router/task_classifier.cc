#include "services/router/task_classifier.h"

#include <algorithm>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sluice::router {
namespace {

constexpr int64_t kDefaultLongContextTokens = 32000;

// Built-in code_generation keywords: requests to write or fix code, and the
// names of languages and tools. Words that are common in prose ("code" as in
// "zip code", "function" as in "the function of the liver") appear only in
// phrases.
const std::vector<std::string>& CodeKeywords() {
  static const auto* words = new std::vector<std::string>{"write a function",
                                                          "write a program",
                                                          "write a script",
                                                          "write code",
                                                          "this code",
                                                          "my code",
                                                          "the code",
                                                          "code review",
                                                          "source code",
                                                          "implement",
                                                          "implementation",
                                                          "refactor",
                                                          "refactoring",
                                                          "debug",
                                                          "debugging",
                                                          "bug",
                                                          "compile",
                                                          "compiler",
                                                          "compilation error",
                                                          "stack trace",
                                                          "traceback",
                                                          "segfault",
                                                          "segmentation fault",
                                                          "unit test",
                                                          "unit tests",
                                                          "regex",
                                                          "regular expression",
                                                          "algorithm",
                                                          "python",
                                                          "c++",
                                                          "c#",
                                                          "javascript",
                                                          "typescript",
                                                          "java",
                                                          "rust",
                                                          "golang",
                                                          "kotlin",
                                                          "swift",
                                                          "ruby",
                                                          "php",
                                                          "bash",
                                                          "shell script",
                                                          "sql",
                                                          "html",
                                                          "css",
                                                          "json",
                                                          "yaml",
                                                          "dockerfile",
                                                          "kubernetes",
                                                          "api endpoint",
                                                          "git"};
  return *words;
}

// Lines that look like code rather than prose, matched case-sensitively.
const std::vector<std::string>& CodeLinePatterns() {
  static const auto* patterns = new std::vector<std::string>{
      "```",                                         // fenced block
      R"((?m)^\s*#include\s*[<"])",                  // C/C++
      R"((?m)^\s*(?:def|class)\s+\w+\s*[(:])",       // Python
      R"((?m)^\s*(?:function|func|fn)\s+\w+\s*\()",  // JS, Go, Rust
      R"((?m)^\s*(?:import\s+[\w.]+;?|from\s+[\w.]+\s+import\s+\w+)\s*$)",
      R"((?m)^.*[=(].*[;{]\s*$)",                // a statement or block opener
      R"((?im)^\s*select\s+.+\s+from\s+\w+)",    // SQL
      R"(Traceback \(most recent call last\))",  // Python error
      R"((?m)^\s+at [\w.$<>]+\()",               // JVM stack frame
  };
  return *patterns;
}

// Built-in complex_reasoning keywords: requests for proofs, derivations,
// analysis, planning, comparison or explanation of causes. Checked after
// code, so "compare these two Python functions" is code_generation.
const std::vector<std::string>& ReasoningKeywords() {
  static const auto* words = new std::vector<std::string>{
      "prove",          "proof",         "theorem",       "lemma",
      "derive",         "derivation",    "step by step",  "step-by-step",
      "reason through", "think through", "analyze",       "analyse",
      "analysis",       "why",           "explain why",   "plan",
      "planning",       "strategy",      "compare",       "comparison",
      "contrast",       "trade-off",     "trade-offs",    "tradeoff",
      "tradeoffs",      "trade off",     "pros and cons", "evaluate",
      "justify",        "implications",  "root cause",    "optimize",
      "optimise",       "puzzle",        "riddle"};
  return *words;
}

bool IsWordChar(char c) {
  // Bytes >= 0x80 belong to UTF-8 letters; treat them as word characters.
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The last user message's text: string content, or its text parts joined
// by newlines (so that words of adjacent parts do not run together).
std::string LastUserText(const sluice::v1::ChatRequest& request) {
  for (int i = request.messages_size() - 1; i >= 0; --i) {
    const sluice::v1::Message& message = request.messages(i);
    if (message.role() != "user") continue;
    if (message.has_parts()) {
      std::vector<absl::string_view> texts;
      for (const auto& part : message.parts().parts()) {
        if (part.type() == "text") texts.push_back(part.text());
      }
      return absl::StrJoin(texts, "\n");
    }
    return message.text();
  }
  return "";
}

bool ToolsPresent(const sluice::v1::ChatRequest& request) {
  absl::string_view tools = absl::StripAsciiWhitespace(request.tools_json());
  return !tools.empty() && tools != "[]" && tools != "null";
}

bool AnyMatches(const std::vector<std::unique_ptr<RE2>>& regexes,
                absl::string_view text) {
  for (const auto& re : regexes) {
    if (RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re)) {
      return true;
    }
  }
  return false;
}

bool Matches(const RE2& re, absl::string_view text) {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), re);
}

absl::StatusOr<std::vector<std::unique_ptr<RE2>>> CompileAll(
    const std::vector<std::string>& patterns, absl::string_view field) {
  std::vector<std::unique_ptr<RE2>> compiled;
  RE2::Options options;
  options.set_log_errors(false);
  for (size_t j = 0; j < patterns.size(); ++j) {
    auto re = std::make_unique<RE2>(patterns[j], options);
    if (!re->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", j, "]: bad RE2 pattern \"", patterns[j],
                       "\": ", re->error()));
    }
    compiled.push_back(std::move(re));
  }
  return compiled;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RE2>> CompileKeywords(
    const std::vector<std::string>& keywords) {
  // ASCII punctuation, space and controls: everything IsWordChar rejects.
  // (A small class keeps compiling and matching fast; \pL would not.)
  constexpr absl::string_view kNotWord =
      R"([\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f])";
  std::vector<std::string> alternatives;
  for (const std::string& raw : keywords) {
    absl::string_view keyword = absl::StripAsciiWhitespace(raw);
    if (keyword.empty()) continue;
    std::string quoted;
    for (absl::string_view word :
         absl::StrSplit(keyword, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
      if (!quoted.empty()) quoted += R"(\s+)";
      quoted += RE2::QuoteMeta(re2::StringPiece(word.data(), word.size()));
    }
    alternatives.push_back(absl::StrCat(
        IsWordChar(keyword.front()) ? absl::StrCat("(?:^|", kNotWord, ")") : "",
        quoted,
        IsWordChar(keyword.back()) ? absl::StrCat("(?:$|", kNotWord, ")")
                                   : ""));
  }
  if (alternatives.empty()) return std::unique_ptr<RE2>();
  RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(
      absl::StrCat("(?:", absl::StrJoin(alternatives, "|"), ")"), options);
  if (!re->ok()) return absl::InvalidArgumentError(re->error());
  return re;
}

absl::StatusOr<std::unique_ptr<TaskClassifier>> TaskClassifier::Create(
    const sluice::v1::RouterConfig& config) {
  std::unique_ptr<TaskClassifier> classifier(new TaskClassifier());
  classifier->long_context_tokens_ = config.long_context_tokens() > 0
                                         ? config.long_context_tokens()
                                         : kDefaultLongContextTokens;
  for (int i = 0; i < config.task_rules_size(); ++i) {
    const sluice::v1::TaskRule& source = config.task_rules(i);
    const std::string field = absl::StrCat("router.task_rules[", i, "]");
    if (source.task().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".task is empty"));
    }
    Rule rule;
    rule.task = source.task();
    rule.tenant = source.tenant();
    auto keywords =
        CompileKeywords({source.keywords().begin(), source.keywords().end()});
    if (!keywords.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".keywords: ", keywords.status().message()));
    }
    rule.keywords = *std::move(keywords);
    auto patterns =
        CompileAll({source.patterns().begin(), source.patterns().end()},
                   absl::StrCat(field, ".patterns"));
    if (!patterns.ok()) return patterns.status();
    rule.patterns = *std::move(patterns);
    rule.tools_present = source.tools_present();
    rule.min_messages = source.min_messages();
    rule.min_prompt_tokens = source.min_prompt_tokens();
    classifier->rules_.push_back(std::move(rule));
  }

  // The built-in lists are constants: failing to compile them is a bug here.
  auto code_keywords = CompileKeywords(CodeKeywords());
  auto code_lines = CompileAll(CodeLinePatterns(), "builtin code patterns");
  auto reasoning_keywords = CompileKeywords(ReasoningKeywords());
  if (!code_keywords.ok()) return code_keywords.status();
  if (!code_lines.ok()) return code_lines.status();
  if (!reasoning_keywords.ok()) return reasoning_keywords.status();
  classifier->code_keywords_ = *std::move(code_keywords);
  classifier->code_lines_ = *std::move(code_lines);
  classifier->reasoning_keywords_ = *std::move(reasoning_keywords);
  return classifier;
}

bool TaskClassifier::RuleHolds(const Rule& rule,
                               const sluice::v1::ChatRequest& request,
                               absl::string_view text,
                               int64_t prompt_tokens) const {
  if (rule.keywords != nullptr && !Matches(*rule.keywords, text)) return false;
  if (!rule.patterns.empty() && !AnyMatches(rule.patterns, text)) return false;
  if (rule.tools_present && !ToolsPresent(request)) return false;
  if (request.messages_size() < rule.min_messages) return false;
  if (prompt_tokens < rule.min_prompt_tokens) return false;
  return true;
}

int64_t TaskClassifier::TokenThreshold(absl::string_view tenant) const {
  int64_t threshold = long_context_tokens_;
  for (const Rule& rule : rules_) {
    if (!rule.tenant.empty() && rule.tenant != tenant) continue;
    if (rule.min_prompt_tokens > 0) {
      threshold = std::min(threshold, rule.min_prompt_tokens);
    }
  }
  return threshold;
}

TaskDecision TaskClassifier::Classify(const sluice::v1::ChatRequest& request,
                                      absl::string_view tenant,
                                      int64_t prompt_tokens) const {
  if (!request.context().task().empty()) {
    return {request.context().task(), "header"};
  }
  const std::string text = LastUserText(request);
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (!rule.tenant.empty() && rule.tenant != tenant) continue;
    if (RuleHolds(rule, request, text, prompt_tokens)) {
      return {rule.task, absl::StrCat("rule:", i)};
    }
  }
  if (prompt_tokens >= long_context_tokens_) {
    return {"long_context", "builtin:long_context"};
  }
  if (Matches(*code_keywords_, text) || AnyMatches(code_lines_, text)) {
    return {"code_generation", "builtin:code"};
  }
  if (Matches(*reasoning_keywords_, text)) {
    return {"complex_reasoning", "builtin:reasoning"};
  }
  return {"simple_qa", "default"};
}

}  // namespace sluice::router
