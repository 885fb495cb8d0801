// The readers of a request's top-level fields, found by name. Null means
// absent for all but model and messages, which ParseChatRequest requires.
#include "libs/codec/request_fields.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "libs/codec/field_checks.h"
#include "libs/codec/json_util.h"
#include "libs/codec/message_parser.h"
#include "libs/status/errors.h"

namespace sluice::codec::internal {
namespace {

using rapidjson::Value;
using Request = sluice::v1::ChatRequest;

// Larger token limits are mistakes, not requests: no model writes a million
// tokens, and the proto holds int32.
constexpr int64_t kMaxTokensLimit = 1'000'000;
// OpenAI's limit for n; admission then serves only n=1.
constexpr int64_t kMaxChoices = 128;
constexpr size_t kMaxStops = 4;
constexpr int64_t kMaxTopLogprobs = 20;
// OpenAI's metadata limits.
constexpr size_t kMaxMetadataKeys = 16;
constexpr size_t kMaxMetadataKeyLength = 64;
constexpr size_t kMaxMetadataValueLength = 512;

absl::Status ParseModel(const Value& v, Request& request) {
  absl::StatusOr<absl::string_view> model = GetString(v, "model");
  if (!model.ok()) return model.status();
  if (model->empty()) {
    return status::InvalidRequest("You must provide a model parameter.",
                                  "model", "missing_required_parameter");
  }
  request.set_model(std::string(*model));
  return absl::OkStatus();
}

absl::Status ParseMessages(const Value& v, Request& request) {
  if (!v.IsArray()) return TypeError("messages", "an array", v);
  if (v.Empty()) return EmptyArray("messages");
  request.clear_messages();  // a repeated key: the last one wins
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    absl::Status s = ParseMessage(v[i], absl::StrCat("messages[", i, "]"),
                                  *request.add_messages());
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ParseStream(const Value& v, Request& request) {
  absl::StatusOr<bool> stream = GetBool(v, "stream");
  if (!stream.ok()) return stream.status();
  request.set_stream(*stream);
  return absl::OkStatus();
}

absl::Status ParseStreamOptions(const Value& v, Request& request) {
  if (!v.IsObject()) return TypeError("stream_options", "an object", v);
  const Value* include = Member(v, "include_usage");
  if (include == nullptr) return absl::OkStatus();
  absl::StatusOr<bool> b = GetBool(*include, "stream_options.include_usage");
  if (!b.ok()) return b.status();
  request.set_include_usage(*b);
  return absl::OkStatus();
}

absl::Status ParseMaxTokens(const Value& v, Request& request) {
  absl::StatusOr<int64_t> i = GetInteger(v, "max_tokens", 1, kMaxTokensLimit);
  if (!i.ok()) return i.status();
  request.set_max_tokens(static_cast<int32_t>(*i));
  return absl::OkStatus();
}

absl::Status ParseMaxCompletionTokens(const Value& v, Request& request) {
  absl::StatusOr<int64_t> i =
      GetInteger(v, "max_completion_tokens", 1, kMaxTokensLimit);
  if (!i.ok()) return i.status();
  request.set_max_completion_tokens(static_cast<int32_t>(*i));
  return absl::OkStatus();
}

absl::Status ParseN(const Value& v, Request& request) {
  absl::StatusOr<int64_t> n = GetInteger(v, "n", 1, kMaxChoices);
  if (!n.ok()) return n.status();
  request.set_n(static_cast<int32_t>(*n));
  return absl::OkStatus();
}

absl::Status ParseTemperature(const Value& v, Request& request) {
  absl::StatusOr<double> d = GetDecimal(v, "temperature", 0, 2);
  if (!d.ok()) return d.status();
  request.set_temperature(*d);
  return absl::OkStatus();
}

absl::Status ParseTopP(const Value& v, Request& request) {
  absl::StatusOr<double> d = GetDecimal(v, "top_p", 0, 1);
  if (!d.ok()) return d.status();
  request.set_top_p(*d);
  return absl::OkStatus();
}

absl::Status ParsePresencePenalty(const Value& v, Request& request) {
  absl::StatusOr<double> d = GetDecimal(v, "presence_penalty", -2, 2);
  if (!d.ok()) return d.status();
  request.set_presence_penalty(*d);
  return absl::OkStatus();
}

absl::Status ParseFrequencyPenalty(const Value& v, Request& request) {
  absl::StatusOr<double> d = GetDecimal(v, "frequency_penalty", -2, 2);
  if (!d.ok()) return d.status();
  request.set_frequency_penalty(*d);
  return absl::OkStatus();
}

absl::Status ParseSeed(const Value& v, Request& request) {
  absl::StatusOr<int64_t> seed = GetInteger(v, "seed", INT64_MIN, INT64_MAX);
  if (!seed.ok()) return seed.status();
  request.set_seed(*seed);
  return absl::OkStatus();
}

absl::Status ParseStop(const Value& v, Request& request) {
  request.clear_stops();
  if (v.IsString()) {
    request.add_stops(std::string(View(v)));
    return absl::OkStatus();
  }
  if (!v.IsArray()) {
    return TypeError("stop", "one of a string or array of strings", v);
  }
  if (v.Size() > kMaxStops) {
    return TooLong("stop", "array", kMaxStops, v.Size());
  }
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    absl::StatusOr<absl::string_view> s =
        GetString(v[i], absl::StrCat("stop[", i, "]"));
    if (!s.ok()) return s.status();
    request.add_stops(std::string(*s));
  }
  return absl::OkStatus();
}

absl::Status ParseResponseFormat(const Value& v, Request& request) {
  if (!v.IsObject()) return TypeError("response_format", "an object", v);
  absl::StatusOr<absl::string_view> type =
      RequiredString(v, "type", "response_format.type");
  if (!type.ok()) return type.status();
  if (*type != "text" && *type != "json_object" && *type != "json_schema") {
    return InvalidValue("response_format.type", *type,
                        {"text", "json_object", "json_schema"});
  }
  if (*type == "json_schema") {
    absl::StatusOr<const Value*> schema =
        RequiredObject(v, "json_schema", "response_format.json_schema");
    if (!schema.ok()) return schema.status();
    absl::StatusOr<absl::string_view> name =
        RequiredString(**schema, "name", "response_format.json_schema.name");
    if (!name.ok()) return name.status();
    if (absl::Status s = CheckName(*name, "response_format.json_schema.name");
        !s.ok()) {
      return s;
    }
    const Value* body = Member(**schema, "schema");
    if (body != nullptr && !body->IsObject()) {
      return TypeError("response_format.json_schema.schema", "an object",
                       *body);
    }
    if (absl::Status s = Optional(
            **schema, "strict", "response_format.json_schema.strict", GetBool);
        !s.ok()) {
      return s;
    }
  }
  request.set_response_format_json(ToJson(v));
  return absl::OkStatus();
}

absl::Status ParseTools(const Value& v, Request& request) {
  if (!v.IsArray()) return TypeError("tools", "an array", v);
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    const Value& tool = v[i];
    std::string p = absl::StrCat("tools[", i, "]");
    if (!tool.IsObject()) return TypeError(p, "an object", tool);
    absl::StatusOr<absl::string_view> type =
        RequiredString(tool, "type", p + ".type");
    if (!type.ok()) return type.status();
    if (*type != "function") {
      return InvalidValue(p + ".type", *type, {"function"});
    }
    absl::StatusOr<const Value*> fn =
        RequiredObject(tool, "function", p + ".function");
    if (!fn.ok()) return fn.status();
    absl::StatusOr<absl::string_view> name =
        RequiredString(**fn, "name", p + ".function.name");
    if (!name.ok()) return name.status();
    if (absl::Status s = CheckName(*name, p + ".function.name"); !s.ok()) {
      return s;
    }
    if (absl::Status s = Optional(**fn, "description",
                                  p + ".function.description", GetString);
        !s.ok()) {
      return s;
    }
    const Value* parameters = Member(**fn, "parameters");
    if (parameters != nullptr && !parameters->IsObject()) {
      return TypeError(p + ".function.parameters", "an object", *parameters);
    }
    if (absl::Status s =
            Optional(**fn, "strict", p + ".function.strict", GetBool);
        !s.ok()) {
      return s;
    }
  }
  // OpenAI refuses "tools": [], which some clients send: treat it as absent.
  if (!v.Empty()) request.set_tools_json(ToJson(v));
  return absl::OkStatus();
}

absl::Status ParseToolChoice(const Value& v, Request& request) {
  if (v.IsString()) {
    absl::string_view choice = View(v);
    if (choice != "none" && choice != "auto" && choice != "required") {
      return InvalidValue("tool_choice", choice, {"none", "auto", "required"});
    }
  } else if (v.IsObject()) {
    absl::StatusOr<absl::string_view> type =
        RequiredString(v, "type", "tool_choice.type");
    if (!type.ok()) return type.status();
    if (*type != "function") {
      return InvalidValue("tool_choice.type", *type, {"function"});
    }
    absl::StatusOr<const Value*> fn =
        RequiredObject(v, "function", "tool_choice.function");
    if (!fn.ok()) return fn.status();
    absl::Status name =
        RequiredString(**fn, "name", "tool_choice.function.name").status();
    if (!name.ok()) return name;
  } else {
    return TypeError("tool_choice", "one of a string or an object", v);
  }
  request.set_tool_choice_json(ToJson(v));
  return absl::OkStatus();
}

absl::Status ParseUser(const Value& v, Request& request) {
  absl::StatusOr<absl::string_view> user = GetString(v, "user");
  if (!user.ok()) return user.status();
  request.set_user(std::string(*user));
  return absl::OkStatus();
}

absl::Status ParseMetadata(const Value& v, Request& request) {
  if (!v.IsObject()) return TypeError("metadata", "an object", v);
  if (v.MemberCount() > kMaxMetadataKeys) {
    return status::InvalidRequest(
        absl::StrCat("Invalid 'metadata': too many properties. Expected an "
                     "object with at most ",
                     kMaxMetadataKeys, " properties, but got an object with ",
                     v.MemberCount(), " properties instead."),
        "metadata", "object_above_max_properties");
  }
  request.clear_metadata();
  for (const auto& m : v.GetObject()) {
    absl::string_view key = View(m.name);
    std::string p = absl::StrCat("metadata.", key);
    if (key.size() > kMaxMetadataKeyLength) {
      return status::InvalidRequest(
          absl::StrCat("Invalid 'metadata': key '", Echo(key),
                       "' is too long. Expected a key with maximum length ",
                       kMaxMetadataKeyLength, ", but got a key with length ",
                       key.size(), " instead."),
          "metadata", "string_above_max_length");
    }
    absl::StatusOr<absl::string_view> value = GetString(m.value, p);
    if (!value.ok()) return value.status();
    if (value->size() > kMaxMetadataValueLength) {
      return TooLong(p, "string", kMaxMetadataValueLength, value->size());
    }
    (*request.mutable_metadata())[std::string(key)] = std::string(*value);
  }
  return absl::OkStatus();
}

struct Field {
  absl::string_view name;
  FieldParser parse;
};

constexpr Field kFields[] = {
    {"model", ParseModel},
    {"messages", ParseMessages},
    {"stream", ParseStream},
    {"stream_options", ParseStreamOptions},
    {"max_tokens", ParseMaxTokens},
    {"max_completion_tokens", ParseMaxCompletionTokens},
    {"n", ParseN},
    {"temperature", ParseTemperature},
    {"top_p", ParseTopP},
    {"presence_penalty", ParsePresencePenalty},
    {"frequency_penalty", ParseFrequencyPenalty},
    {"seed", ParseSeed},
    {"stop", ParseStop},
    {"response_format", ParseResponseFormat},
    {"tools", ParseTools},
    {"tool_choice", ParseToolChoice},
    {"user", ParseUser},
    {"metadata", ParseMetadata},
};

// Fields we do not model but check, since OpenAI would refuse them anyway;
// they pass through as they are.
using FieldCheck = absl::Status (*)(const Value&);

struct CheckedExtra {
  absl::string_view name;
  FieldCheck check;
};

absl::Status CheckLogprobs(const Value& v) {
  return GetBool(v, "logprobs").status();
}

absl::Status CheckTopLogprobs(const Value& v) {
  return GetInteger(v, "top_logprobs", 0, kMaxTopLogprobs).status();
}

absl::Status CheckParallelToolCalls(const Value& v) {
  return GetBool(v, "parallel_tool_calls").status();
}

constexpr CheckedExtra kCheckedExtras[] = {
    {"logprobs", CheckLogprobs},
    {"top_logprobs", CheckTopLogprobs},
    {"parallel_tool_calls", CheckParallelToolCalls},
};

}  // namespace

FieldParser FindFieldParser(absl::string_view name) {
  for (const Field& f : kFields) {
    if (f.name == name) return f.parse;
  }
  return nullptr;
}

absl::Status CheckExtraField(absl::string_view name, const Value& value) {
  for (const CheckedExtra& c : kCheckedExtras) {
    if (c.name != name || value.IsNull()) continue;
    if (absl::Status s = c.check(value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace sluice::codec::internal
