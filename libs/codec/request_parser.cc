// ParseChatRequest: the client's request body → ChatRequest, checked the way
// OpenAI's API checks it. Any bad input is INVALID_ARGUMENT naming the
// parameter the OpenAI way ("messages[0].role", "response_format.type") in
// OpenAI's words. Unknown top-level fields pass through to the upstream.
#include <cstdint>
#include <initializer_list>
#include <optional>

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
using Names = std::initializer_list<absl::string_view>;

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
// Function and schema names: ^[a-zA-Z0-9_-]{1,64}$, as OpenAI requires.
constexpr size_t kMaxNameLength = 64;
// Client values quoted in error messages are cut to this many bytes.
constexpr size_t kMaxEcho = 64;

// ---- Errors in OpenAI's words.

// How OpenAI's errors name the type of a JSON value.
const char* TypeName(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return v.IsDouble() ? "a decimal" : "an integer";
  }
  return "a value";
}

// `text` cut to kMaxEcho bytes without splitting a UTF-8 sequence.
std::string Echo(absl::string_view text) {
  if (text.size() <= kMaxEcho) return std::string(text);
  size_t n = kMaxEcho;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return absl::StrCat(text.substr(0, n), "...");
}

absl::Status TypeError(const std::string& param, absl::string_view expected,
                       const Value& got) {
  return status::InvalidRequest(
      absl::StrCat("Invalid type for '", param, "': expected ", expected,
                   ", but got ", TypeName(got), " instead."),
      param, "invalid_type");
}

absl::Status Missing(const std::string& param) {
  return status::InvalidRequest(
      absl::StrCat("Missing required parameter: '", param, "'."), param,
      "missing_required_parameter");
}

absl::Status InvalidValue(const std::string& param, absl::string_view value,
                          Names supported) {
  std::string list;
  size_t i = 0;
  for (absl::string_view s : supported) {
    const char* sep = i == 0                     ? ""
                      : i + 1 < supported.size() ? ", "
                      : supported.size() == 2    ? " and "
                                                 : ", and ";
    absl::StrAppend(&list, sep, "'", s, "'");
    ++i;
  }
  return status::InvalidRequest(
      absl::StrCat("Invalid value: '", Echo(value),
                   "'. Supported values are: ", list, "."),
      param, "invalid_value");
}

// "Invalid 'max_tokens': integer above maximum value. Expected a value <=
// 1000000, but got 5000000 instead."
absl::Status OutOfRange(const std::string& param, const char* kind,
                        const Value& got, bool above, absl::string_view bound) {
  return status::InvalidRequest(
      absl::StrCat("Invalid '", param, "': ", kind,
                   above ? " above maximum" : " below minimum",
                   " value. Expected a value ", above ? "<= " : ">= ", bound,
                   ", but got ", ToJson(got), " instead."),
      param,
      absl::StrCat(kind, above ? "_above_max_value" : "_below_min_value"));
}

absl::Status EmptyArray(const std::string& param) {
  return status::InvalidRequest(
      absl::StrCat("Invalid '", param,
                   "': empty array. Expected an array with minimum length 1, "
                   "but got an empty array instead."),
      param, "empty_array");
}

// `what`: "array" or "string".
absl::Status TooLong(const std::string& param, absl::string_view what,
                     size_t max, size_t got) {
  absl::string_view a = what == "array" ? "an " : "a ";
  return status::InvalidRequest(
      absl::StrCat("Invalid '", param, "': ", what, " too long. Expected ", a,
                   what, " with maximum length ", max, ", but got ", a, what,
                   " with length ", got, " instead."),
      param, absl::StrCat(what, "_above_max_length"));
}

// ---- Typed readers. Each names `param` when the value is wrong.

absl::StatusOr<absl::string_view> GetString(const Value& v,
                                            const std::string& param) {
  if (!v.IsString()) return TypeError(param, "a string", v);
  return View(v);
}

absl::StatusOr<bool> GetBool(const Value& v, const std::string& param) {
  if (!v.IsBool()) return TypeError(param, "a boolean", v);
  return v.GetBool();
}

absl::StatusOr<double> GetDecimal(const Value& v, const std::string& param,
                                  double min, double max) {
  if (!v.IsNumber()) return TypeError(param, "a decimal", v);
  double d = v.GetDouble();
  if (d < min) return OutOfRange(param, "decimal", v, false, absl::StrCat(min));
  if (d > max) return OutOfRange(param, "decimal", v, true, absl::StrCat(max));
  return d;
}

// Only JSON integers: 1.0 and 1e3 are decimals, as OpenAI reads them.
absl::StatusOr<int64_t> GetInteger(const Value& v, const std::string& param,
                                   int64_t min, int64_t max) {
  if (!v.IsNumber() || v.IsDouble()) return TypeError(param, "an integer", v);
  // A uint64 beyond int64.
  if (!v.IsInt64()) {
    return OutOfRange(param, "integer", v, true, absl::StrCat(max));
  }
  int64_t i = v.GetInt64();
  if (i < min) return OutOfRange(param, "integer", v, false, absl::StrCat(min));
  if (i > max) return OutOfRange(param, "integer", v, true, absl::StrCat(max));
  return i;
}

// The member `name` of `object`; nullptr when absent or null.
const Value* Member(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

absl::StatusOr<absl::string_view> RequiredString(const Value& object,
                                                 const char* name,
                                                 const std::string& param) {
  const Value* v = Member(object, name);
  if (v == nullptr) return Missing(param);
  return GetString(*v, param);
}

// A required string that must not be empty either (an id).
absl::StatusOr<absl::string_view> RequiredId(const Value& object,
                                             const char* name,
                                             const std::string& param) {
  absl::StatusOr<absl::string_view> id = RequiredString(object, name, param);
  if (id.ok() && id->empty()) {
    return status::InvalidRequest(
        absl::StrCat("Invalid '", param,
                     "': empty string. Expected a string with minimum length "
                     "1, but got an empty string instead."),
        param, "empty_string");
  }
  return id;
}

absl::StatusOr<const Value*> RequiredObject(const Value& object,
                                            const char* name,
                                            const std::string& param) {
  const Value* v = Member(object, name);
  if (v == nullptr) return Missing(param);
  if (!v->IsObject()) return TypeError(param, "an object", *v);
  return v;
}

// A member that may be absent or null, else of the type `check` accepts.
template <typename Check>
absl::Status Optional(const Value& object, const char* name,
                      const std::string& param, Check check) {
  const Value* v = Member(object, name);
  if (v == nullptr) return absl::OkStatus();
  return check(*v, param).status();
}

absl::Status CheckName(absl::string_view name, const std::string& param) {
  bool ok = !name.empty() && name.size() <= kMaxNameLength;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return status::InvalidRequest(
      absl::StrCat("Invalid '", param,
                   "': string does not match pattern. Expected a string that "
                   "matches the pattern '^[a-zA-Z0-9_-]{1,64}$'."),
      param, "invalid_value");
}

// ---- UTF-8: RapidJSON turns a lone "\udc00" escape into invalid UTF-8, so
// every string is checked after parsing, not only the raw bytes.

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points beyond U+10FFFF.
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// Where the first string in `v` (a key or a value) that is not UTF-8 is:
// its path ("messages[0].content"; the parent's for a bad key), or nullopt.
std::optional<std::string> FindInvalidUtf8(const Value& v,
                                           const std::string& path) {
  if (v.IsString()) {
    if (!IsValidUtf8(View(v))) return path;
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if (auto bad = FindInvalidUtf8(v[i], absl::StrCat(path, "[", i, "]"))) {
        return bad;
      }
    }
  } else if (v.IsObject()) {
    for (const auto& member : v.GetObject()) {
      if (!IsValidUtf8(View(member.name))) return path;
      std::string child = path.empty()
                              ? std::string(View(member.name))
                              : absl::StrCat(path, ".", View(member.name));
      if (auto bad = FindInvalidUtf8(member.value, child)) return bad;
    }
  }
  return std::nullopt;
}

// ---- Messages.

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

// ---- Top-level fields, one reader each. Null means absent for all but
// model and messages.

using Request = sluice::v1::ChatRequest;

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

using FieldParser = absl::Status (*)(const Value&, Request&);

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

absl::Status InvalidJson(absl::string_view detail) {
  return status::InvalidRequest(
      absl::StrCat("We could not parse the JSON body of your request (", detail,
                   ")."),
      "", "invalid_json");
}

}  // namespace

absl::StatusOr<sluice::v1::ChatRequest> ParseChatRequest(
    absl::string_view json) {
  if (size_t at = internal::FindTooDeep(json, internal::kMaxJsonDepth);
      at != absl::string_view::npos) {
    return InvalidJson(absl::StrCat(
        "nesting deeper than ", internal::kMaxJsonDepth, " at offset ", at));
  }
  // Encoding is checked below, string by string, to name the parameter.
  rapidjson::Document doc;
  doc.Parse<internal::kUntrustedParseFlags>(json.data(), json.size());
  if (doc.HasParseError()) {
    return InvalidJson(
        absl::StrCat(rapidjson::GetParseError_En(doc.GetParseError()),
                     " at offset ", doc.GetErrorOffset()));
  }
  if (std::optional<std::string> bad = FindInvalidUtf8(doc, "")) {
    return status::InvalidRequest(
        bad->empty()
            ? std::string("Invalid request body: a key is not valid UTF-8.")
            : absl::StrCat("Invalid '", *bad, "': string is not valid UTF-8."),
        *bad, "invalid_encoding");
  }
  if (!doc.IsObject()) {
    return status::InvalidRequest(
        absl::StrCat("Invalid request body: expected a JSON object, but got ",
                     TypeName(doc), " instead."),
        "", "invalid_type");
  }
  Request request;
  rapidjson::Document extra(rapidjson::kObjectType);
  bool has_model = false, has_messages = false;
  for (const auto& member : doc.GetObject()) {
    absl::string_view name = View(member.name);
    const Value& value = member.value;
    const Field* field = nullptr;
    for (const Field& f : kFields) {
      if (f.name == name) field = &f;
    }
    if (field != nullptr) {
      bool required = name == "model" || name == "messages";
      if (value.IsNull() && !required) continue;
      if (absl::Status s = field->parse(value, request); !s.ok()) return s;
      has_model = has_model || name == "model";
      has_messages = has_messages || name == "messages";
      continue;
    }
    for (const CheckedExtra& c : kCheckedExtras) {
      if (c.name != name || value.IsNull()) continue;
      if (absl::Status s = c.check(value); !s.ok()) return s;
    }
    // Provider-specific fields (DeepSeek "thinking", "reasoning_effort",
    // "logprobs", ...) pass through to the upstream untouched; a repeated
    // key keeps its last value.
    extra.RemoveMember(member.name);
    Value key(member.name, extra.GetAllocator());
    Value copy(value, extra.GetAllocator());
    extra.AddMember(key, copy, extra.GetAllocator());
  }
  if (!has_model) return Missing("model");
  if (!has_messages) return Missing("messages");
  if (extra.MemberCount() > 0) request.set_extra_json(ToJson(extra));
  return request;
}

}  // namespace sluice::codec
