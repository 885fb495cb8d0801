// ParseChatRequest: the client's request body → ChatRequest.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/codec/json_util.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"
#include "rapidjson/error/en.h"

namespace sluice::codec {
namespace {

using internal::ToJson;
using internal::View;
using rapidjson::Value;

constexpr int64_t kMaxTokensLimit = 10'000'000;

absl::Status TypeError(const std::string& param, const char* expected) {
  return status::InvalidRequest(
      absl::StrCat("Invalid type for '", param, "': expected ", expected, "."),
      param);
}

absl::Status RangeError(const std::string& param, absl::string_view range) {
  return status::InvalidRequest(
      absl::StrCat("Invalid value for '", param, "': must be ", range, "."),
      param);
}

absl::StatusOr<std::string> GetString(const Value& v,
                                      const std::string& param) {
  if (!v.IsString()) return TypeError(param, "a string");
  return std::string(View(v));
}

absl::StatusOr<double> GetNumber(const Value& v, const std::string& param,
                                 double min, double max) {
  if (!v.IsNumber()) return TypeError(param, "a number");
  double d = v.GetDouble();
  if (!(d >= min && d <= max)) {
    return RangeError(param, absl::StrCat("between ", min, " and ", max));
  }
  return d;
}

absl::StatusOr<int64_t> GetInt(const Value& v, const std::string& param,
                               int64_t min, int64_t max) {
  if (!v.IsInt64()) return TypeError(param, "an integer");
  int64_t i = v.GetInt64();
  if (i < min || i > max) {
    return RangeError(param, absl::StrCat("between ", min, " and ", max));
  }
  return i;
}

absl::Status ParseToolCalls(const Value& v, const std::string& param,
                            sluice::v1::Message& message) {
  if (!v.IsArray()) return TypeError(param, "an array");
  int index = 0;
  for (const Value& call : v.GetArray()) {
    std::string p = absl::StrCat(param, "[", index, "]");
    if (!call.IsObject()) return TypeError(p, "an object");
    sluice::v1::ToolCall* out = message.add_tool_calls();
    out->set_index(index++);
    if (auto it = call.FindMember("id");
        it != call.MemberEnd() && it->value.IsString()) {
      out->set_id(std::string(View(it->value)));
    }
    if (auto it = call.FindMember("type");
        it != call.MemberEnd() && it->value.IsString()) {
      out->set_type(std::string(View(it->value)));
    }
    if (auto it = call.FindMember("function"); it != call.MemberEnd()) {
      if (!it->value.IsObject()) return TypeError(p + ".function", "an object");
      const Value& fn = it->value;
      if (auto n = fn.FindMember("name");
          n != fn.MemberEnd() && n->value.IsString()) {
        out->set_function_name(std::string(View(n->value)));
      }
      if (auto a = fn.FindMember("arguments");
          a != fn.MemberEnd() && a->value.IsString()) {
        out->set_function_arguments(std::string(View(a->value)));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ParseMessage(const Value& v, const std::string& param,
                          sluice::v1::Message& message) {
  if (!v.IsObject()) return TypeError(param, "an object");
  auto role = v.FindMember("role");
  if (role == v.MemberEnd()) {
    return status::InvalidRequest(
        absl::StrCat("Missing required parameter: '", param, ".role'."),
        param + ".role");
  }
  if (!role->value.IsString()) return TypeError(param + ".role", "a string");
  absl::string_view r = View(role->value);
  if (r != "system" && r != "developer" && r != "user" && r != "assistant" &&
      r != "tool") {
    return status::InvalidRequest(
        absl::StrCat("Invalid value: '", r,
                     "'. Supported values are: 'system', ",
                     "'developer', 'user', 'assistant', and 'tool'."),
        param + ".role");
  }
  message.set_role(std::string(r));
  for (const auto& member : v.GetObject()) {
    absl::string_view name = View(member.name);
    const Value& value = member.value;
    std::string p = absl::StrCat(param, ".", name);
    if (name == "content") {
      if (value.IsString()) {
        message.set_text(std::string(View(value)));
      } else if (value.IsArray()) {
        sluice::v1::ContentParts* parts = message.mutable_parts();
        int i = 0;
        for (const Value& part : value.GetArray()) {
          std::string pp = absl::StrCat(p, "[", i++, "]");
          if (!part.IsObject()) return TypeError(pp, "an object");
          auto type = part.FindMember("type");
          if (type == part.MemberEnd() || !type->value.IsString()) {
            return TypeError(pp + ".type", "a string");
          }
          sluice::v1::ContentPart* out = parts->add_parts();
          out->set_type(std::string(View(type->value)));
          if (out->type() == "text") {
            auto text = part.FindMember("text");
            if (text == part.MemberEnd() || !text->value.IsString()) {
              return TypeError(pp + ".text", "a string");
            }
            out->set_text(std::string(View(text->value)));
          } else {
            out->set_raw_json(ToJson(part));
          }
        }
      } else if (!value.IsNull()) {
        return TypeError(p, "a string or an array of content parts");
      }
    } else if (name == "name" || name == "tool_call_id" ||
               name == "reasoning_content" || name == "refusal") {
      if (value.IsNull()) continue;
      absl::StatusOr<std::string> s = GetString(value, p);
      if (!s.ok()) return s.status();
      if (name == "name") message.set_name(*s);
      if (name == "tool_call_id") message.set_tool_call_id(*s);
      if (name == "reasoning_content") message.set_reasoning_content(*s);
      if (name == "refusal") message.set_refusal(*s);
    } else if (name == "tool_calls") {
      if (value.IsNull()) continue;
      if (absl::Status s = ParseToolCalls(value, p, message); !s.ok()) return s;
    }
  }
  // Only an assistant turn (tool calls, refusal) may come without content.
  if (message.content_case() == sluice::v1::Message::CONTENT_NOT_SET &&
      message.role() != "assistant") {
    return status::InvalidRequest(
        absl::StrCat("Missing required parameter: '", param, ".content'."),
        param + ".content");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<sluice::v1::ChatRequest> ParseChatRequest(
    absl::string_view json) {
  if (size_t at = internal::FindTooDeep(json, internal::kMaxJsonDepth);
      at != absl::string_view::npos) {
    return status::InvalidRequest(
        absl::StrCat("We could not parse the JSON body of your request "
                     "(nesting deeper than ",
                     internal::kMaxJsonDepth, " at offset ", at, ")."),
        "", "invalid_json");
  }
  rapidjson::Document doc;
  doc.Parse<internal::kUntrustedParseFlags |
            rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  if (doc.HasParseError()) {
    return status::InvalidRequest(
        absl::StrCat("We could not parse the JSON body of your request (",
                     rapidjson::GetParseError_En(doc.GetParseError()),
                     " at offset ", doc.GetErrorOffset(), ")."),
        "", "invalid_json");
  }
  if (!doc.IsObject()) {
    return status::InvalidRequest("The request body must be a JSON object.");
  }
  sluice::v1::ChatRequest request;
  rapidjson::Document extra(rapidjson::kObjectType);
  bool has_model = false, has_messages = false;
  for (const auto& member : doc.GetObject()) {
    std::string name(View(member.name));
    const Value& value = member.value;
    if (name == "model") {
      absl::StatusOr<std::string> s = GetString(value, name);
      if (!s.ok()) return s.status();
      if (s->empty()) {
        return status::InvalidRequest("You must provide a model parameter.",
                                      name);
      }
      request.set_model(*s);
      has_model = true;
    } else if (name == "messages") {
      if (!value.IsArray()) return TypeError(name, "an array");
      if (value.Empty()) {
        return status::InvalidRequest(
            "Invalid 'messages': empty array. Expected an array with minimum "
            "length 1, but got an empty array instead.",
            name, "empty_array");
      }
      has_messages = true;
      int i = 0;
      for (const Value& message : value.GetArray()) {
        absl::Status s =
            ParseMessage(message, absl::StrCat("messages[", i++, "]"),
                         *request.add_messages());
        if (!s.ok()) return s;
      }
    } else if (name == "stream") {
      if (value.IsNull()) continue;
      if (!value.IsBool()) return TypeError(name, "a boolean");
      request.set_stream(value.GetBool());
    } else if (name == "stream_options") {
      if (value.IsNull()) continue;
      if (!value.IsObject()) return TypeError(name, "an object");
      if (auto it = value.FindMember("include_usage");
          it != value.MemberEnd()) {
        if (!it->value.IsBool()) {
          return TypeError("stream_options.include_usage", "a boolean");
        }
        request.set_include_usage(it->value.GetBool());
      }
    } else if (name == "max_tokens" || name == "max_completion_tokens" ||
               name == "n") {
      if (value.IsNull()) continue;
      absl::StatusOr<int64_t> i =
          GetInt(value, name, name == "n" ? 1 : 0, kMaxTokensLimit);
      if (!i.ok()) return i.status();
      if (name == "max_tokens")
        request.set_max_tokens(static_cast<int32_t>(*i));
      if (name == "max_completion_tokens") {
        request.set_max_completion_tokens(static_cast<int32_t>(*i));
      }
      if (name == "n") request.set_n(static_cast<int32_t>(*i));
    } else if (name == "temperature" || name == "top_p" ||
               name == "presence_penalty" || name == "frequency_penalty") {
      if (value.IsNull()) continue;
      double min = name == "temperature" || name == "top_p" ? 0 : -2;
      double max = name == "top_p" ? 1 : 2;
      absl::StatusOr<double> d = GetNumber(value, name, min, max);
      if (!d.ok()) return d.status();
      if (name == "temperature") request.set_temperature(*d);
      if (name == "top_p") request.set_top_p(*d);
      if (name == "presence_penalty") request.set_presence_penalty(*d);
      if (name == "frequency_penalty") request.set_frequency_penalty(*d);
    } else if (name == "seed") {
      if (value.IsNull()) continue;
      if (!value.IsInt64()) return TypeError(name, "an integer");
      request.set_seed(value.GetInt64());
    } else if (name == "stop") {
      if (value.IsNull()) continue;
      if (value.IsString()) {
        request.add_stops(std::string(View(value)));
      } else if (value.IsArray()) {
        if (value.Size() > 4) return RangeError(name, "at most 4 sequences");
        for (const Value& s : value.GetArray()) {
          if (!s.IsString())
            return TypeError(name, "a string or an array of strings");
          request.add_stops(std::string(View(s)));
        }
      } else {
        return TypeError(name, "a string or an array of strings");
      }
    } else if (name == "response_format" || name == "tools" ||
               name == "tool_choice") {
      if (value.IsNull()) continue;
      if (name == "tools" && !value.IsArray())
        return TypeError(name, "an array");
      if (name == "response_format" && !value.IsObject()) {
        return TypeError(name, "an object");
      }
      std::string text = ToJson(value);
      if (name == "response_format") request.set_response_format_json(text);
      if (name == "tools") request.set_tools_json(text);
      if (name == "tool_choice") request.set_tool_choice_json(text);
    } else if (name == "user") {
      if (value.IsNull()) continue;
      absl::StatusOr<std::string> s = GetString(value, name);
      if (!s.ok()) return s.status();
      request.set_user(*s);
    } else if (name == "metadata") {
      if (value.IsNull()) continue;
      if (!value.IsObject()) return TypeError(name, "an object");
      for (const auto& m : value.GetObject()) {
        if (!m.value.IsString()) {
          return TypeError(absl::StrCat("metadata.", View(m.name)), "a string");
        }
        (*request.mutable_metadata())[std::string(View(m.name))] =
            std::string(View(m.value));
      }
    } else {
      // Provider-specific fields (DeepSeek "thinking", "reasoning_effort",
      // "logprobs", ...) pass through to the upstream untouched.
      Value key(member.name, extra.GetAllocator());
      Value copy(value, extra.GetAllocator());
      extra.AddMember(key, copy, extra.GetAllocator());
    }
  }
  if (!has_model) {
    return status::InvalidRequest("Missing required parameter: 'model'.",
                                  "model");
  }
  if (!has_messages) {
    return status::InvalidRequest("Missing required parameter: 'messages'.",
                                  "messages");
  }
  if (extra.MemberCount() > 0) request.set_extra_json(ToJson(extra));
  return request;
}

}  // namespace sluice::codec
