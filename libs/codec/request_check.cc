// CheckChatRequest: a request that arrived as a proto (the gRPC Gateway)
// checked exactly as ParseChatRequest checks a JSON body. The proto is
// written as the JSON body OpenAI's API would receive and that body is
// parsed: one set of rules, one set of error messages, whatever the
// transport. The raw JSON fields are checked on their own first, so that
// an error in one of them names it rather than an offset in the body.
#include <string>

#include "absl/strings/str_cat.h"
#include "libs/codec/json_util.h"
#include "libs/codec/openai_codec.h"
#include "libs/codec/request_fields.h"
#include "libs/status/errors.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace sluice::codec {
namespace {

// How deep each raw field sits in the body (the request object is 1), so
// that a field under the body's depth limit keeps the body under it too.
constexpr int kTopLevelFieldDepth = 1;  // "tools": [...]
constexpr int kContentPartDepth = 4;    // messages[i].content[j]

// The raw JSON `text` of `param`: parsed, within the depth left to it.
absl::StatusOr<rapidjson::Document> ParseRaw(absl::string_view text,
                                             const std::string& param,
                                             int depth) {
  int allowed = internal::kMaxJsonDepth - depth;
  if (size_t at = internal::FindTooDeep(text, allowed);
      at != absl::string_view::npos) {
    return status::InvalidRequest(
        absl::StrCat("Invalid '", param, "': JSON nested deeper than ",
                     allowed, " levels."),
        param, "invalid_json");
  }
  rapidjson::Document doc;
  doc.Parse<internal::kUntrustedParseFlags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return status::InvalidRequest(
        absl::StrCat("Invalid '", param, "': not valid JSON (",
                     rapidjson::GetParseError_En(doc.GetParseError()),
                     " at offset ", doc.GetErrorOffset(), ")."),
        param, "invalid_json");
  }
  return doc;
}

absl::Status CheckRawFields(const sluice::v1::ChatRequest& request) {
  struct Raw {
    const std::string& text;
    const char* param;
  };
  for (const Raw& raw : {Raw{request.tools_json(), "tools"},
                         Raw{request.tool_choice_json(), "tool_choice"},
                         Raw{request.response_format_json(), "response_format"}}) {
    if (raw.text.empty()) continue;
    absl::StatusOr<rapidjson::Document> doc =
        ParseRaw(raw.text, raw.param, kTopLevelFieldDepth);
    if (!doc.ok()) return doc.status();
  }
  for (int i = 0; i < request.messages_size(); ++i) {
    const sluice::v1::Message& message = request.messages(i);
    if (!message.has_parts()) continue;
    for (int j = 0; j < message.parts().parts_size(); ++j) {
      const std::string& raw = message.parts().parts(j).raw_json();
      if (raw.empty()) continue;
      absl::StatusOr<rapidjson::Document> doc = ParseRaw(
          raw, absl::StrCat("messages[", i, "].content[", j, "]"),
          kContentPartDepth);
      if (!doc.ok()) return doc.status();
    }
  }
  if (request.extra_json().empty()) return absl::OkStatus();
  // The extras are the body's own top-level fields: the body's depth.
  absl::StatusOr<rapidjson::Document> extra =
      ParseRaw(request.extra_json(), "extra_json", 0);
  if (!extra.ok()) return extra.status();
  if (!extra->IsObject()) {
    return status::InvalidRequest(
        "Invalid 'extra_json': expected a JSON object of extra request "
        "fields.",
        "extra_json", "invalid_type");
  }
  for (const auto& member : extra->GetObject()) {
    absl::string_view name = internal::View(member.name);
    if (internal::FindFieldParser(name) != nullptr) {
      // A second "model" (say) would change what admission checked.
      return status::InvalidRequest(
          absl::StrCat("Invalid 'extra_json': '", name,
                       "' is a field of the request; set it there."),
          absl::StrCat("extra_json.", name), "invalid_value");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<sluice::v1::ChatRequest> CheckChatRequest(
    const sluice::v1::ChatRequest& request) {
  if (absl::Status raw = CheckRawFields(request); !raw.ok()) return raw;
  absl::StatusOr<sluice::v1::ChatRequest> checked =
      ParseChatRequest(WriteChatRequest(request, "", request.stream()));
  if (!checked.ok()) return checked.status();
  // What the body cannot say: the client's own include_usage (a streamed
  // body always asks for usage) and the context, which the edge fills.
  checked->set_include_usage(request.include_usage());
  return checked;
}

}  // namespace sluice::codec
