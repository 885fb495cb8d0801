// ParseMessage: a request message → Message, with its content parts and
// tool calls. Other message members ("audio", "annotations", ...) are
// dropped.
#include "libs/codec/message_parser.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "libs/codec/field_checks.h"
#include "libs/codec/json_util.h"
#include "libs/status/errors.h"

namespace sluice::codec::internal {
namespace {

using rapidjson::Value;

// The body of a non-text part: the member its type names.
absl::Status CheckPartBody(const Value& part, absl::string_view type,
                           const std::string& param) {
  if (type == "refusal") {
    return RequiredString(part, "refusal", param + ".refusal").status();
  }
  std::string name(type);
  absl::StatusOr<const Value*> body =
      RequiredObject(part, name.c_str(), absl::StrCat(param, ".", name));
  if (!body.ok()) return body.status();
  if (type == "image_url") {
    return RequiredString(**body, "url", param + ".image_url.url").status();
  }
  if (type == "input_audio") {
    absl::Status data =
        RequiredString(**body, "data", param + ".input_audio.data").status();
    if (!data.ok()) return data;
    return RequiredString(**body, "format", param + ".input_audio.format")
        .status();
  }
  return absl::OkStatus();  // "file": file_id or file_data, left to upstream
}

absl::Status ParseContentPart(const Value& part, const std::string& param,
                              sluice::v1::ContentPart& out) {
  if (!part.IsObject()) return TypeError(param, "an object", part);
  absl::StatusOr<absl::string_view> type =
      RequiredString(part, "type", param + ".type");
  if (!type.ok()) return type.status();
  out.set_type(std::string(*type));
  if (*type == "text") {
    absl::StatusOr<absl::string_view> text =
        RequiredString(part, "text", param + ".text");
    if (!text.ok()) return text.status();
    out.set_text(std::string(*text));
    return absl::OkStatus();
  }
  if (*type != "image_url" && *type != "input_audio" && *type != "file" &&
      *type != "refusal") {
    return InvalidValue(
        param + ".type", *type,
        {"text", "image_url", "input_audio", "file", "refusal"});
  }
  if (absl::Status s = CheckPartBody(part, *type, param); !s.ok()) return s;
  out.set_raw_json(ToJson(part));
  return absl::OkStatus();
}

absl::Status ParseContent(const Value& value, const std::string& param,
                          sluice::v1::Message& message) {
  if (value.IsNull()) {
    message.clear_content();
  } else if (value.IsString()) {
    message.set_text(std::string(View(value)));
  } else if (value.IsArray()) {
    if (value.Empty()) return EmptyArray(param);
    sluice::v1::ContentParts* parts = message.mutable_parts();
    parts->Clear();
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      absl::Status s = ParseContentPart(
          value[i], absl::StrCat(param, "[", i, "]"), *parts->add_parts());
      if (!s.ok()) return s;
    }
  } else {
    return TypeError(param, "one of a string or array of objects", value);
  }
  return absl::OkStatus();
}

// An assistant turn's earlier tool calls.
absl::Status ParseToolCalls(const Value& v, const std::string& param,
                            sluice::v1::Message& message) {
  if (!v.IsArray()) return TypeError(param, "an array", v);
  message.clear_tool_calls();
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    const Value& call = v[i];
    std::string p = absl::StrCat(param, "[", i, "]");
    if (!call.IsObject()) return TypeError(p, "an object", call);
    sluice::v1::ToolCall* out = message.add_tool_calls();
    out->set_index(static_cast<int32_t>(i));
    absl::StatusOr<absl::string_view> id = RequiredId(call, "id", p + ".id");
    if (!id.ok()) return id.status();
    out->set_id(std::string(*id));
    absl::StatusOr<absl::string_view> type =
        RequiredString(call, "type", p + ".type");
    if (!type.ok()) return type.status();
    if (*type != "function") {
      return InvalidValue(p + ".type", *type, {"function"});
    }
    out->set_type(std::string(*type));
    absl::StatusOr<const Value*> fn =
        RequiredObject(call, "function", p + ".function");
    if (!fn.ok()) return fn.status();
    absl::StatusOr<absl::string_view> name =
        RequiredString(**fn, "name", p + ".function.name");
    if (!name.ok()) return name.status();
    out->set_function_name(std::string(*name));
    absl::StatusOr<absl::string_view> arguments =
        RequiredString(**fn, "arguments", p + ".function.arguments");
    if (!arguments.ok()) return arguments.status();
    out->set_function_arguments(std::string(*arguments));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseMessage(const Value& v, const std::string& param,
                          sluice::v1::Message& message) {
  if (!v.IsObject()) return TypeError(param, "an object", v);
  absl::StatusOr<absl::string_view> role =
      RequiredString(v, "role", param + ".role");
  if (!role.ok()) return role.status();
  if (*role != "system" && *role != "developer" && *role != "user" &&
      *role != "assistant" && *role != "tool") {
    return InvalidValue(param + ".role", *role,
                        {"system", "developer", "user", "assistant", "tool"});
  }
  message.set_role(std::string(*role));
  bool has_content = false;
  for (const auto& member : v.GetObject()) {
    absl::string_view name = View(member.name);
    const Value& value = member.value;
    std::string p = absl::StrCat(param, ".", name);
    if (name == "content") {
      if (absl::Status s = ParseContent(value, p, message); !s.ok()) return s;
      has_content = !value.IsNull();
    } else if (name == "name" || name == "tool_call_id" ||
               name == "reasoning_content" || name == "refusal") {
      if (value.IsNull()) continue;
      absl::StatusOr<absl::string_view> s = GetString(value, p);
      if (!s.ok()) return s.status();
      std::string text(*s);
      if (name == "name") message.set_name(text);
      if (name == "tool_call_id") message.set_tool_call_id(text);
      if (name == "reasoning_content") message.set_reasoning_content(text);
      if (name == "refusal") message.set_refusal(text);
    } else if (name == "tool_calls") {
      if (value.IsNull()) continue;
      if (absl::Status s = ParseToolCalls(value, p, message); !s.ok()) return s;
    }
    // Other members ("audio", "annotations", ...) are dropped, as before.
  }
  if (*role == "assistant") {
    // An assistant turn may be only tool calls or a refusal.
    if (!has_content && message.tool_calls_size() == 0 &&
        message.refusal().empty()) {
      return status::InvalidRequest(
          absl::StrCat("Invalid '", param,
                       "': an assistant message needs 'content' or "
                       "'tool_calls'."),
          param + ".content", "missing_required_parameter");
    }
    return absl::OkStatus();
  }
  if (!has_content) return Missing(param + ".content");
  if (*role == "tool") {
    return RequiredId(v, "tool_call_id", param + ".tool_call_id").status();
  }
  return absl::OkStatus();
}

}  // namespace sluice::codec::internal
