// ChatRequest → Anthropic Messages JSON; see anthropic_request.h.
#include "services/adapters/anthropic_request.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "libs/codec/json_util.h"
#include "libs/status/errors.h"
#include "rapidjson/document.h"

namespace sluice::adapters {
namespace {

using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

Value Str(absl::string_view text, Allocator& a) {
  return Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), a);
}

absl::string_view View(const Value& value) {
  return absl::string_view(value.GetString(), value.GetStringLength());
}

absl::StatusOr<rapidjson::Document> ParseJson(absl::string_view text,
                                              absl::string_view param) {
  rapidjson::Document doc;
  doc.Parse<codec::internal::kUntrustedParseFlags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return status::InvalidRequest(absl::StrCat("`", param, "` is not JSON"),
                                  std::string(param));
  }
  return doc;
}

Value TextBlock(absl::string_view text, Allocator& a) {
  Value block(rapidjson::kObjectType);
  block.AddMember("type", "text", a);
  block.AddMember("text", Str(text, a), a);
  return block;
}

// An OpenAI image_url part → an Anthropic image block: a data: URL becomes
// a base64 source, anything else a url source.
absl::StatusOr<Value> ImageBlock(const Value& part, const std::string& param,
                                 Allocator& a) {
  absl::string_view url;
  auto image = part.FindMember("image_url");
  if (image != part.MemberEnd() && image->value.IsString()) {
    url = View(image->value);
  } else if (image != part.MemberEnd() && image->value.IsObject()) {
    auto u = image->value.FindMember("url");
    if (u != image->value.MemberEnd() && u->value.IsString())
      url = View(u->value);
  }
  if (url.empty()) {
    return status::InvalidRequest("an image_url part needs a url",
                                  absl::StrCat(param, ".image_url"));
  }
  Value source(rapidjson::kObjectType);
  if (absl::ConsumePrefix(&url, "data:")) {
    // data:<media type>;base64,<data>
    size_t comma = url.find(',');
    absl::string_view meta = url.substr(0, comma);
    if (comma == absl::string_view::npos ||
        !absl::ConsumeSuffix(&meta, ";base64")) {
      return status::InvalidRequest("image data URLs must be base64",
                                    absl::StrCat(param, ".image_url"));
    }
    source.AddMember("type", "base64", a);
    source.AddMember("media_type", Str(meta, a), a);
    source.AddMember("data", Str(url.substr(comma + 1), a), a);
  } else {
    source.AddMember("type", "url", a);
    source.AddMember("url", Str(url, a), a);
  }
  Value block(rapidjson::kObjectType);
  block.AddMember("type", "image", a);
  block.AddMember("source", source, a);
  return block;
}

// The content of `message` as blocks appended to `blocks`. Empty text is
// skipped when `skip_empty_text` (an assistant turn that only calls tools).
absl::Status AppendContent(const sluice::v1::Message& message,
                           const std::string& param, bool skip_empty_text,
                           Value& blocks, Allocator& a) {
  if (message.has_text()) {
    if (!(skip_empty_text && message.text().empty())) {
      blocks.PushBack(TextBlock(message.text(), a), a);
    }
    return absl::OkStatus();
  }
  if (!message.has_parts()) return absl::OkStatus();
  int i = 0;
  for (const auto& part : message.parts().parts()) {
    std::string part_param = absl::StrCat(param, ".content[", i++, "]");
    if (part.raw_json().empty()) {  // a text part
      if (!(skip_empty_text && part.text().empty())) {
        blocks.PushBack(TextBlock(part.text(), a), a);
      }
      continue;
    }
    absl::StatusOr<rapidjson::Document> raw =
        ParseJson(part.raw_json(), part_param);
    if (!raw.ok()) return raw.status();
    auto type = raw->FindMember("type");
    if (!raw->IsObject() || type == raw->MemberEnd() ||
        !type->value.IsString() || View(type->value) != "image_url") {
      return status::InvalidRequest(
          absl::StrCat("content part type \"", part.type(),
                       "\" is not supported by Anthropic"),
          part_param);
    }
    absl::StatusOr<Value> image = ImageBlock(*raw, part_param, a);
    if (!image.ok()) return image.status();
    blocks.PushBack(*image, a);
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> ToolUseBlock(const sluice::v1::ToolCall& call,
                                   const std::string& param, Allocator& a) {
  Value input(rapidjson::kObjectType);
  if (!call.function_arguments().empty()) {
    absl::StatusOr<rapidjson::Document> args = ParseJson(
        call.function_arguments(), absl::StrCat(param, ".function.arguments"));
    if (!args.ok()) return args.status();
    if (!args->IsObject()) {
      return status::InvalidRequest("tool call arguments must be a JSON object",
                                    absl::StrCat(param, ".function.arguments"));
    }
    input.CopyFrom(*args, a);
  }
  Value block(rapidjson::kObjectType);
  block.AddMember("type", "tool_use", a);
  block.AddMember("id", Str(call.id(), a), a);
  block.AddMember("name", Str(call.function_name(), a), a);
  block.AddMember("input", input, a);
  return block;
}

absl::StatusOr<Value> ToolResultBlock(const sluice::v1::Message& message,
                                      const std::string& param, Allocator& a) {
  Value block(rapidjson::kObjectType);
  block.AddMember("type", "tool_result", a);
  block.AddMember("tool_use_id", Str(message.tool_call_id(), a), a);
  if (message.has_text()) {
    block.AddMember("content", Str(message.text(), a), a);
  } else if (message.has_parts()) {
    Value content(rapidjson::kArrayType);
    absl::Status status = AppendContent(message, param, false, content, a);
    if (!status.ok()) return status;
    block.AddMember("content", content, a);
  }
  return block;
}

// The `messages` array and the `system` text.
absl::Status WriteMessages(const sluice::v1::ChatRequest& request,
                           rapidjson::Document& doc) {
  Allocator& a = doc.GetAllocator();
  std::vector<std::string> system;
  Value messages(rapidjson::kArrayType);
  std::string last_role;
  for (int i = 0; i < request.messages_size(); ++i) {
    const sluice::v1::Message& message = request.messages(i);
    std::string param = absl::StrCat("messages[", i, "]");
    const std::string& role = message.role();
    if (role == "system" || role == "developer") {
      Value blocks(rapidjson::kArrayType);
      absl::Status status = AppendContent(message, param, true, blocks, a);
      if (!status.ok()) return status;
      for (const Value& block : blocks.GetArray()) {
        if (block["type"] == "text") system.emplace_back(View(block["text"]));
      }
      continue;
    }
    if (role != "user" && role != "assistant" && role != "tool") {
      return status::InvalidRequest(absl::StrCat("unknown role \"", role, "\""),
                                    absl::StrCat(param, ".role"));
    }
    std::string turn_role = role == "assistant" ? "assistant" : "user";
    if (turn_role != last_role) {
      Value turn(rapidjson::kObjectType);
      turn.AddMember("role", Str(turn_role, a), a);
      turn.AddMember("content", Value(rapidjson::kArrayType), a);
      messages.PushBack(turn, a);
      last_role = turn_role;
    }
    Value& blocks = messages[messages.Size() - 1]["content"];
    if (role == "tool") {
      absl::StatusOr<Value> result = ToolResultBlock(message, param, a);
      if (!result.ok()) return result.status();
      blocks.PushBack(*result, a);
      continue;
    }
    bool assistant = role == "assistant";
    absl::Status status = AppendContent(
        message, param, assistant && message.tool_calls_size(), blocks, a);
    if (!status.ok()) return status;
    for (int j = 0; assistant && j < message.tool_calls_size(); ++j) {
      absl::StatusOr<Value> use =
          ToolUseBlock(message.tool_calls(j),
                       absl::StrCat(param, ".tool_calls[", j, "]"), a);
      if (!use.ok()) return use.status();
      blocks.PushBack(*use, a);
    }
  }
  // A turn of one text block reads better as a plain string.
  for (Value& turn : messages.GetArray()) {
    Value& content = turn["content"];
    if (content.Size() == 1 && content[0]["type"] == "text") {
      Value text;
      text.Swap(content[0]["text"]);
      content.Swap(text);
    }
  }
  if (!system.empty()) {
    doc.AddMember("system", Str(absl::StrJoin(system, "\n\n"), a), a);
  }
  doc.AddMember("messages", messages, a);
  return absl::OkStatus();
}

// OpenAI function tools → Anthropic tools.
absl::Status WriteTools(absl::string_view tools_json,
                        rapidjson::Document& doc) {
  Allocator& a = doc.GetAllocator();
  absl::StatusOr<rapidjson::Document> tools = ParseJson(tools_json, "tools");
  if (!tools.ok()) return tools.status();
  if (!tools->IsArray()) {
    return status::InvalidRequest("`tools` must be an array", "tools");
  }
  Value out(rapidjson::kArrayType);
  for (rapidjson::SizeType i = 0; i < tools->Size(); ++i) {
    const Value& tool = (*tools)[i];
    std::string param = absl::StrCat("tools[", i, "]");
    if (!tool.IsObject() || !tool.HasMember("type") ||
        tool["type"] != "function" || !tool.HasMember("function") ||
        !tool["function"].IsObject() || !tool["function"].HasMember("name") ||
        !tool["function"]["name"].IsString()) {
      return status::InvalidRequest(
          "only function tools with a name are supported by Anthropic", param);
    }
    const Value* f = &tool["function"];
    Value converted(rapidjson::kObjectType);
    converted.AddMember("name", Value((*f)["name"], a), a);
    if (f->HasMember("description") && (*f)["description"].IsString()) {
      converted.AddMember("description", Value((*f)["description"], a), a);
    }
    Value schema(rapidjson::kObjectType);
    if (f->HasMember("parameters") && (*f)["parameters"].IsObject()) {
      schema.CopyFrom((*f)["parameters"], a);
    } else {
      schema.AddMember("type", "object", a);
      schema.AddMember("properties", Value(rapidjson::kObjectType), a);
    }
    converted.AddMember("input_schema", schema, a);
    out.PushBack(converted, a);
  }
  doc.AddMember("tools", out, a);
  return absl::OkStatus();
}

// OpenAI tool_choice → Anthropic's; `parallel` is OpenAI's
// parallel_tool_calls when the request set it.
absl::Status WriteToolChoice(absl::string_view choice_json,
                             std::optional<bool> parallel,
                             rapidjson::Document& doc) {
  Allocator& a = doc.GetAllocator();
  Value choice(rapidjson::kObjectType);
  if (!choice_json.empty()) {
    absl::StatusOr<rapidjson::Document> parsed =
        ParseJson(choice_json, "tool_choice");
    if (!parsed.ok()) return parsed.status();
    absl::string_view mode;
    if (parsed->IsString()) {
      mode = View(*parsed);
    } else if (parsed->IsObject() && parsed->HasMember("type") &&
               (*parsed)["type"].IsString()) {
      mode = View((*parsed)["type"]);
    }
    if (mode == "auto" || mode == "none") {
      choice.AddMember("type", Str(mode, a), a);
    } else if (mode == "required") {
      choice.AddMember("type", "any", a);
    } else if (mode == "function" && parsed->HasMember("function") &&
               (*parsed)["function"].IsObject() &&
               (*parsed)["function"].HasMember("name") &&
               (*parsed)["function"]["name"].IsString()) {
      choice.AddMember("type", "tool", a);
      choice.AddMember("name", Value((*parsed)["function"]["name"], a), a);
    } else {
      return status::InvalidRequest("unsupported tool_choice", "tool_choice");
    }
  } else {
    choice.AddMember("type", "auto", a);
  }
  if (parallel.has_value() && !*parallel && choice["type"] != "none") {
    choice.AddMember("disable_parallel_tool_use", true, a);
  }
  doc.AddMember("tool_choice", choice, a);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> WriteAnthropicRequest(
    const sluice::v1::ChatRequest& request, absl::string_view upstream_model) {
  rapidjson::Document doc(rapidjson::kObjectType);
  Allocator& a = doc.GetAllocator();
  doc.AddMember("model",
                Str(upstream_model.empty() ? absl::string_view(request.model())
                                           : upstream_model,
                    a),
                a);
  if (absl::Status s = WriteMessages(request, doc); !s.ok()) return s;
  int max_tokens = request.has_max_completion_tokens()
                       ? request.max_completion_tokens()
                   : request.has_max_tokens() ? request.max_tokens()
                                              : kDefaultMaxTokens;
  doc.AddMember("max_tokens", max_tokens, a);
  if (request.stops_size() > 0) {
    Value stops(rapidjson::kArrayType);
    for (const auto& stop : request.stops()) stops.PushBack(Str(stop, a), a);
    doc.AddMember("stop_sequences", stops, a);
  }
  if (request.has_temperature()) {
    doc.AddMember("temperature", request.temperature(), a);
  }
  if (request.has_top_p()) doc.AddMember("top_p", request.top_p(), a);
  if (request.stream()) doc.AddMember("stream", true, a);
  if (!request.user().empty()) {
    Value metadata(rapidjson::kObjectType);
    metadata.AddMember("user_id", Str(request.user(), a), a);
    doc.AddMember("metadata", metadata, a);
  }
  rapidjson::Document extra(rapidjson::kObjectType);
  if (!request.extra_json().empty()) {
    absl::StatusOr<rapidjson::Document> parsed =
        ParseJson(request.extra_json(), "extra");
    if (parsed.ok() && parsed->IsObject()) extra = *std::move(parsed);
  }
  std::optional<bool> parallel;
  if (extra.HasMember("parallel_tool_calls") &&
      extra["parallel_tool_calls"].IsBool()) {
    parallel = extra["parallel_tool_calls"].GetBool();
  }
  if (!request.tools_json().empty()) {
    if (absl::Status s = WriteTools(request.tools_json(), doc); !s.ok()) {
      return s;
    }
    if (absl::Status s =
            WriteToolChoice(request.tool_choice_json(), parallel, doc);
        !s.ok()) {
      return s;
    }
  }
  for (auto& member : extra.GetObject()) {
    if (doc.HasMember(member.name) || member.name == "parallel_tool_calls") {
      continue;
    }
    doc.AddMember(Value(member.name, a), Value(member.value, a), a);
  }
  return codec::internal::ToJson(doc);
}

}  // namespace sluice::adapters
