// ParseChatRequest: the client's request body → ChatRequest, checked the way
// OpenAI's API checks it. Any bad input is INVALID_ARGUMENT naming the
// parameter the OpenAI way ("messages[0].role", "response_format.type") in
// OpenAI's words. Unknown top-level fields pass through to the upstream.
//
// The work is split by job: field_checks.h reads and checks one value,
// message_parser.h one message, request_fields.h one top-level field, and
// utf8_check.h the encoding of every string.
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "libs/codec/field_checks.h"
#include "libs/codec/json_util.h"
#include "libs/codec/openai_codec.h"
#include "libs/codec/request_fields.h"
#include "libs/codec/utf8_check.h"
#include "libs/status/errors.h"
#include "rapidjson/error/en.h"

namespace sluice::codec {
namespace {

using internal::FieldParser;
using internal::FindInvalidUtf8;
using internal::Missing;
using internal::ToJson;
using internal::TypeName;
using internal::View;
using rapidjson::Value;

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
  sluice::v1::ChatRequest request;
  rapidjson::Document extra(rapidjson::kObjectType);
  bool has_model = false, has_messages = false;
  for (const auto& member : doc.GetObject()) {
    absl::string_view name = View(member.name);
    const Value& value = member.value;
    if (FieldParser parse = internal::FindFieldParser(name); parse != nullptr) {
      bool required = name == "model" || name == "messages";
      if (value.IsNull() && !required) continue;
      if (absl::Status s = parse(value, request); !s.ok()) return s;
      has_model = has_model || name == "model";
      has_messages = has_messages || name == "messages";
      continue;
    }
    if (absl::Status s = internal::CheckExtraField(name, value); !s.ok()) {
      return s;
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
