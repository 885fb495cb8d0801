// TaskClassifier: header, config rules (order, tenant scope, conditions),
// built-in classes, keyword matching and config errors.
#include "services/router/task_classifier.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace sluice::router {
namespace {

using ::testing::HasSubstr;

sluice::v1::RouterConfig ParseConfig(const std::string& text) {
  sluice::v1::RouterConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config))
      << text;
  return config;
}

std::unique_ptr<TaskClassifier> MakeClassifier(
    const std::string& config_text = "") {
  auto classifier = TaskClassifier::Create(ParseConfig(config_text));
  EXPECT_TRUE(classifier.ok()) << classifier.status();
  return classifier.ok() ? *std::move(classifier) : nullptr;
}

sluice::v1::ChatRequest UserRequest(const std::string& text) {
  sluice::v1::ChatRequest request;
  auto* message = request.add_messages();
  message->set_role("user");
  message->set_text(text);
  return request;
}

TaskDecision ClassifyText(const TaskClassifier& classifier,
                          const std::string& text) {
  return classifier.Classify(UserRequest(text), "acme", 10);
}

TEST(TaskClassifierTest, PlainQuestionIsSimpleQaByDefault) {
  auto classifier = MakeClassifier();
  TaskDecision decision =
      ClassifyText(*classifier, "What is the capital of France?");
  EXPECT_EQ(decision.task, "simple_qa");
  EXPECT_EQ(decision.reason, "default");
}

TEST(TaskClassifierTest, CodeKeywordsAreCodeGeneration) {
  auto classifier = MakeClassifier();
  for (const char* text :
       {"Write a function that reverses a list", "Please refactor this class",
        "How do I read a file in Python?",
        "Why does my C++ template not compile?",
        "Here is the stack trace I got", "Fix the SQL query"}) {
    TaskDecision decision = ClassifyText(*classifier, text);
    EXPECT_EQ(decision.task, "code_generation") << text;
    EXPECT_EQ(decision.reason, "builtin:code") << text;
  }
}

TEST(TaskClassifierTest, CodeLookingLinesAreCodeGeneration) {
  auto classifier = MakeClassifier();
  for (const char* text :
       {"What does this do?\n```\nx = 1\n```",
        "What does this print?\n#include <stdio.h>",
        "Is this right?\ndef area(r):\n    return 3.14 * r * r",
        "Is this valid?\nfor (int i = 0; i < n; ++i) {",
        "Slow:\nSELECT name FROM users WHERE id = 3",
        "Help!\nTraceback (most recent call last):\n  File \"a\""}) {
    EXPECT_EQ(ClassifyText(*classifier, text).task, "code_generation") << text;
  }
}

TEST(TaskClassifierTest, ReasoningKeywordsAreComplexReasoning) {
  auto classifier = MakeClassifier();
  for (const char* text :
       {"Prove that there are infinitely many primes",
        "Solve this step by step: a train leaves at 3pm",
        "Compare renting and buying a house",
        "What are the trade-offs of remote work?", "Why is the sky blue?",
        "Derive the quadratic formula"}) {
    TaskDecision decision = ClassifyText(*classifier, text);
    EXPECT_EQ(decision.task, "complex_reasoning") << text;
    EXPECT_EQ(decision.reason, "builtin:reasoning") << text;
  }
}

TEST(TaskClassifierTest, CodeWinsOverReasoning) {
  auto classifier = MakeClassifier();
  EXPECT_EQ(ClassifyText(*classifier, "Compare these two Python snippets").task,
            "code_generation");
}

TEST(TaskClassifierTest, LongContextFromPromptTokens) {
  auto classifier = MakeClassifier();
  auto request = UserRequest("Write a function to sort");
  TaskDecision decision = classifier->Classify(request, "acme", 32000);
  EXPECT_EQ(decision.task, "long_context");
  EXPECT_EQ(decision.reason, "builtin:long_context");
  EXPECT_EQ(classifier->Classify(request, "acme", 31999).task,
            "code_generation");
}

TEST(TaskClassifierTest, LongContextThresholdFromConfig) {
  auto classifier = MakeClassifier("long_context_tokens: 1000");
  auto request = UserRequest("hello");
  EXPECT_EQ(classifier->Classify(request, "acme", 1000).task, "long_context");
  EXPECT_EQ(classifier->Classify(request, "acme", 999).task, "simple_qa");
}

TEST(TaskClassifierTest, HeaderWinsOverRulesAndBuiltins) {
  auto classifier = MakeClassifier(R"pb(task_rules { task: "ruled" })pb");
  auto request = UserRequest("Write a function in Python");
  request.mutable_context()->set_task("translation");
  TaskDecision decision = classifier->Classify(request, "acme", 100000);
  EXPECT_EQ(decision.task, "translation");
  EXPECT_EQ(decision.reason, "header");
}

TEST(TaskClassifierTest, FirstMatchingRuleWinsInOrder) {
  auto classifier = MakeClassifier(R"pb(
    task_rules { task: "legal" keywords: "contract" }
    task_rules { task: "legal_review" keywords: "contract" keywords: "clause" }
    task_rules { task: "clauses" keywords: "clause" }
  )pb");
  TaskDecision decision =
      ClassifyText(*classifier, "Review this contract clause");
  EXPECT_EQ(decision.task, "legal");
  EXPECT_EQ(decision.reason, "rule:0");
  decision = ClassifyText(*classifier, "Explain this clause");
  EXPECT_EQ(decision.task, "legal_review");
  EXPECT_EQ(decision.reason, "rule:1");
}

TEST(TaskClassifierTest, RulesComeBeforeBuiltins) {
  auto classifier =
      MakeClassifier(R"pb(task_rules { task: "data" keywords: "sql" })pb");
  TaskDecision decision =
      ClassifyText(*classifier, "Write SQL for monthly totals");
  EXPECT_EQ(decision.task, "data");
  EXPECT_EQ(decision.reason, "rule:0");
}

TEST(TaskClassifierTest, AllConditionsMustHold) {
  auto classifier = MakeClassifier(R"pb(
    task_rules {
      task: "agent"
      keywords: "book"
      tools_present: true
      min_messages: 2
      min_prompt_tokens: 50
    }
  )pb");
  auto request = UserRequest("Book a flight to Oslo");
  request.set_tools_json(R"([{"type":"function","function":{"name":"book"}}])");
  auto* first = request.mutable_messages()->Add();
  first->set_role("system");
  first->set_text("You are a travel agent");
  request.mutable_messages()->SwapElements(0, 1);  // system first, user last
  EXPECT_EQ(classifier->Classify(request, "acme", 50).task, "agent");
  EXPECT_EQ(classifier->Classify(request, "acme", 49).task, "simple_qa");

  auto no_tools = request;
  no_tools.set_tools_json("[]");
  EXPECT_EQ(classifier->Classify(no_tools, "acme", 50).task, "simple_qa");

  auto one_message = UserRequest("Book a flight to Oslo");
  one_message.set_tools_json(request.tools_json());
  EXPECT_EQ(classifier->Classify(one_message, "acme", 50).task, "simple_qa");

  auto other_words = request;
  other_words.mutable_messages(1)->set_text("Cancel my flight");
  EXPECT_EQ(classifier->Classify(other_words, "acme", 50).task, "simple_qa");
}

TEST(TaskClassifierTest, RuleWithoutConditionsMatchesEverything) {
  auto classifier = MakeClassifier(R"pb(task_rules { task: "everything" })pb");
  EXPECT_EQ(ClassifyText(*classifier, "Prove Fermat's last theorem").task,
            "everything");
  EXPECT_EQ(classifier->Classify(sluice::v1::ChatRequest(), "", 0).task,
            "everything");
}

TEST(TaskClassifierTest, TenantRuleAppliesOnlyToItsTenant) {
  auto classifier = MakeClassifier(R"pb(
    task_rules { task: "support" tenant: "acme" keywords: "refund" }
  )pb");
  auto request = UserRequest("I want a refund");
  TaskDecision decision = classifier->Classify(request, "acme", 10);
  EXPECT_EQ(decision.task, "support");
  EXPECT_EQ(classifier->Classify(request, "globex", 10).task, "simple_qa");
}

TEST(TaskClassifierTest, PatternsAreRe2) {
  auto classifier = MakeClassifier(R"pb(
    task_rules {
      task: "translation"
      patterns: "(?i)^translate\\b"
      patterns: "\\bin(to)? french$"
    }
  )pb");
  EXPECT_EQ(ClassifyText(*classifier, "Translate this sentence").task,
            "translation");
  EXPECT_EQ(ClassifyText(*classifier, "Say good morning in French").task,
            "simple_qa")
      << "the second pattern is case-sensitive";
  EXPECT_EQ(ClassifyText(*classifier, "Say good morning in french").task,
            "translation");
  EXPECT_EQ(ClassifyText(*classifier, "Please translate this").task,
            "simple_qa");
}

TEST(TaskClassifierTest, BadPatternNamesTheField) {
  auto classifier = TaskClassifier::Create(ParseConfig(R"pb(
    task_rules { task: "ok" patterns: "fine" }
    task_rules { task: "bad" patterns: "good" patterns: "(unclosed" }
  )pb"));
  ASSERT_FALSE(classifier.ok());
  EXPECT_EQ(classifier.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(classifier.status().message(),
              HasSubstr("router.task_rules[1].patterns[1]"));
  EXPECT_THAT(classifier.status().message(), HasSubstr("missing )"));
}

TEST(TaskClassifierTest, RuleWithoutTaskIsRejected) {
  auto classifier = TaskClassifier::Create(
      ParseConfig(R"pb(task_rules { keywords: "x" })pb"));
  EXPECT_EQ(classifier.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(classifier.status().message(),
              HasSubstr("router.task_rules[0].task"));
}

TEST(TaskClassifierTest, KeywordsAreCaseInsensitiveWholeWords) {
  auto classifier = MakeClassifier(R"pb(
    task_rules {
      task: "db"
      keywords: "sql"
      keywords: "c++"
      keywords: "step by step"
    }
  )pb");
  EXPECT_EQ(ClassifyText(*classifier, "help with SQL").task, "db");
  EXPECT_EQ(ClassifyText(*classifier, "sql, please").task, "db");
  EXPECT_EQ(ClassifyText(*classifier, "(Sql)").task, "db");
  EXPECT_NE(ClassifyText(*classifier, "the sequel was better").task, "db");
  EXPECT_NE(ClassifyText(*classifier, "use mysqldump").task, "db");
  EXPECT_EQ(ClassifyText(*classifier, "C++17 features").task, "db");
  EXPECT_NE(ClassifyText(*classifier, "abc++").task, "db");
  EXPECT_EQ(ClassifyText(*classifier, "go Step\n  By   step").task, "db");
}

TEST(KeywordsTest, NonAsciiLettersAreWordCharacters) {
  auto re = CompileKeywords({"café"});
  ASSERT_TRUE(re.ok()) << re.status();
  EXPECT_TRUE(RE2::PartialMatch("un CAFÉ noir", **re));
  EXPECT_FALSE(RE2::PartialMatch("cafés", **re));
}

TEST(TaskClassifierTest, OnlyTheLastUserMessageCounts) {
  auto classifier = MakeClassifier();
  sluice::v1::ChatRequest request;
  auto* system = request.add_messages();
  system->set_role("system");
  system->set_text("You are an expert Python programmer. Think step by step.");
  auto* earlier = request.add_messages();
  earlier->set_role("user");
  earlier->set_text("Write a function to parse dates");
  auto* assistant = request.add_messages();
  assistant->set_role("assistant");
  assistant->set_text("```python\ndef parse(s): ...\n```");
  auto* last = request.add_messages();
  last->set_role("user");
  last->set_text("Thanks! What's the weather like in Paris?");
  EXPECT_EQ(classifier->Classify(request, "acme", 10).task, "simple_qa");

  // A trailing tool result does not hide the last user message.
  auto* tool = request.add_messages();
  tool->set_role("tool");
  tool->set_text("def f(): pass");
  last->set_text("Now refactor it");
  EXPECT_EQ(classifier->Classify(request, "acme", 10).task, "code_generation");
}

TEST(TaskClassifierTest, TextPartsAreRead) {
  auto classifier = MakeClassifier();
  sluice::v1::ChatRequest request;
  auto* message = request.add_messages();
  message->set_role("user");
  auto* image = message->mutable_parts()->add_parts();
  image->set_type("image_url");
  image->set_raw_json(R"({"image_url":{"url":"https://x/python.png"}})");
  auto* text = message->mutable_parts()->add_parts();
  text->set_type("text");
  text->set_text("What is in this picture?");
  EXPECT_EQ(classifier->Classify(request, "acme", 10).task, "simple_qa")
      << "non-text parts are not read";
  auto* second = message->mutable_parts()->add_parts();
  second->set_type("text");
  second->set_text("Prove it is a cat.");
  EXPECT_EQ(classifier->Classify(request, "acme", 10).task,
            "complex_reasoning");
}

TEST(TaskClassifierTest, AdjacentPartsDoNotJoinWords) {
  auto classifier =
      MakeClassifier(R"pb(task_rules { task: "db" keywords: "sql" })pb");
  sluice::v1::ChatRequest request;
  auto* message = request.add_messages();
  message->set_role("user");
  auto* a = message->mutable_parts()->add_parts();
  a->set_type("text");
  a->set_text("my");
  auto* b = message->mutable_parts()->add_parts();
  b->set_type("text");
  b->set_text("sql");
  EXPECT_EQ(classifier->Classify(request, "acme", 10).task, "db");
}

}  // namespace
}  // namespace sluice::router

namespace sluice::router {
namespace {

TEST(TaskClassifierThresholdTest, TheSmallestTokenConditionOfTheTenant) {
  sluice::v1::RouterConfig config;
  config.set_long_context_tokens(32000);
  auto* rule = config.add_task_rules();
  rule->set_task("big");
  rule->set_min_prompt_tokens(5000);
  rule = config.add_task_rules();
  rule->set_task("acme_big");
  rule->set_tenant("acme");
  rule->set_min_prompt_tokens(700);
  auto classifier = TaskClassifier::Create(config);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_EQ((*classifier)->TokenThreshold("other"), 5000);
  EXPECT_EQ((*classifier)->TokenThreshold("acme"), 700);
  sluice::v1::RouterConfig plain;
  plain.set_long_context_tokens(1234);
  auto defaults = TaskClassifier::Create(plain);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ((*defaults)->TokenThreshold("anyone"), 1234);
}

}  // namespace
}  // namespace sluice::router
