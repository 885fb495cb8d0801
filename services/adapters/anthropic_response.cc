// Anthropic message objects → ChatResponse; see anthropic_response.h.
#include "services/adapters/anthropic_response.h"

#include "absl/strings/str_cat.h"
#include "libs/codec/json_util.h"
#include "libs/status/errors.h"

namespace sluice::adapters {
namespace {

using rapidjson::Value;

using codec::internal::StringMember;

absl::Status BadAnswer(absl::string_view why) {
  return status::UpstreamError(
      absl::StrCat("upstream sent an invalid Anthropic message: ", why), 502);
}

}  // namespace

std::string FinishReasonOf(absl::string_view stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence" ||
      stop_reason == "pause_turn") {
    return "stop";
  }
  if (stop_reason == "max_tokens" ||
      stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return std::string(stop_reason);
}

void MergeAnthropicUsage(const Value& json, sluice::v1::Usage& usage) {
  if (!json.IsObject()) return;
  int64_t read = usage.cached_tokens();
  int64_t creation = usage.cache_creation_tokens();
  int64_t input = usage.prompt_tokens() - read - creation;
  int64_t output = usage.completion_tokens();
  auto take = [&json](const char* name, int64_t& value) {
    auto it = json.FindMember(name);
    if (it != json.MemberEnd() && it->value.IsInt64()) {
      value = it->value.GetInt64();
    }
  };
  take("input_tokens", input);
  take("cache_read_input_tokens", read);
  take("cache_creation_input_tokens", creation);
  take("output_tokens", output);
  usage.set_prompt_tokens(input + read + creation);
  usage.set_cached_tokens(read);
  usage.set_cache_creation_tokens(creation);
  usage.set_completion_tokens(output);
  usage.set_total_tokens(usage.prompt_tokens() + output);
}

absl::StatusOr<sluice::v1::ChatResponse> ParseAnthropicMessage(
    absl::string_view json, absl::Time now) {
  rapidjson::Document doc;
  doc.Parse<codec::internal::kUntrustedParseFlags>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) return BadAnswer("not JSON");
  if (StringMember(doc, "type") != "message") {
    return BadAnswer("its type is not \"message\"");
  }
  auto content = doc.FindMember("content");
  if (content == doc.MemberEnd() || !content->value.IsArray()) {
    return BadAnswer("no content array");
  }
  sluice::v1::ChatResponse response;
  response.set_id(std::string(StringMember(doc, "id")));
  response.set_model(std::string(StringMember(doc, "model")));
  response.set_created(absl::ToUnixSeconds(now));
  sluice::v1::Choice* choice = response.add_choices();
  choice->set_index(0);
  sluice::v1::Message* message = choice->mutable_message();
  message->set_role("assistant");
  std::string text, reasoning;
  bool has_text = false;
  for (const Value& block : content->value.GetArray()) {
    if (!block.IsObject()) return BadAnswer("a content block is no object");
    absl::string_view type = StringMember(block, "type");
    if (type == "text") {
      has_text = true;
      absl::StrAppend(&text, StringMember(block, "text"));
    } else if (type == "thinking") {
      absl::StrAppend(&reasoning, StringMember(block, "thinking"));
    } else if (type == "tool_use") {
      sluice::v1::ToolCall* call = message->add_tool_calls();
      call->set_index(message->tool_calls_size() - 1);
      call->set_id(std::string(StringMember(block, "id")));
      call->set_type("function");
      call->set_function_name(std::string(StringMember(block, "name")));
      auto input = block.FindMember("input");
      call->set_function_arguments(input == block.MemberEnd()
                                       ? "{}"
                                       : codec::internal::ToJson(input->value));
    }
    // redacted_thinking and server tool blocks have no OpenAI counterpart.
  }
  if (has_text) message->set_text(std::move(text));
  if (!reasoning.empty()) message->set_reasoning_content(std::move(reasoning));
  choice->set_finish_reason(FinishReasonOf(StringMember(doc, "stop_reason")));
  auto usage = doc.FindMember("usage");
  if (usage != doc.MemberEnd()) {
    MergeAnthropicUsage(usage->value, *response.mutable_usage());
  }
  return response;
}

}  // namespace sluice::adapters
