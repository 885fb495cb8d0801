// Chat request parsing with RapidJSON; see request.h.
#include "tools/upstream-sim/request.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"

namespace sluice::sim {
namespace {

// A string, or the `text` members of an array of content blocks.
std::string TextOf(const rapidjson::Value& content) {
  if (content.IsString()) {
    return std::string(content.GetString(), content.GetStringLength());
  }
  std::string text;
  if (!content.IsArray()) return text;
  for (const rapidjson::Value& part : content.GetArray()) {
    if (!part.IsObject()) continue;
    auto it = part.FindMember("text");
    if (it == part.MemberEnd() || !it->value.IsString()) continue;
    absl::StrAppend(
        &text, text.empty() ? "" : " ",
        absl::string_view(it->value.GetString(), it->value.GetStringLength()));
  }
  return text;
}

bool BoolMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsBool() && it->value.GetBool();
}

}  // namespace

absl::StatusOr<ChatRequest> ParseChatRequest(absl::string_view body, Api api) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError("the body is not a JSON object");
  }
  ChatRequest request;
  request.api = api;
  auto model = doc.FindMember("model");
  if (model == doc.MemberEnd() || !model->value.IsString() ||
      model->value.GetStringLength() == 0) {
    return absl::InvalidArgumentError("`model` is required");
  }
  request.model = model->value.GetString();
  auto messages = doc.FindMember("messages");
  if (messages == doc.MemberEnd() || !messages->value.IsArray()) {
    return absl::InvalidArgumentError("`messages` must be an array");
  }
  for (const rapidjson::Value& message : messages->value.GetArray()) {
    if (!message.IsObject()) {
      return absl::InvalidArgumentError("each message must be an object");
    }
    Message parsed;
    auto role = message.FindMember("role");
    if (role != message.MemberEnd() && role->value.IsString()) {
      parsed.role = role->value.GetString();
    }
    auto content = message.FindMember("content");
    if (content != message.MemberEnd()) parsed.text = TextOf(content->value);
    request.messages.push_back(std::move(parsed));
  }
  auto system = doc.FindMember("system");
  if (system != doc.MemberEnd()) request.system = TextOf(system->value);
  request.stream = BoolMember(doc, "stream");
  auto options = doc.FindMember("stream_options");
  if (options != doc.MemberEnd() && options->value.IsObject()) {
    request.include_usage = BoolMember(options->value, "include_usage");
  }
  request.thinking = absl::StrContains(request.model, "reasoner");
  auto thinking = doc.FindMember("thinking");
  if (thinking != doc.MemberEnd() && thinking->value.IsObject()) {
    auto type = thinking->value.FindMember("type");
    if (type != thinking->value.MemberEnd() && type->value.IsString()) {
      request.thinking |=
          absl::string_view(type->value.GetString()) == "enabled";
    }
  }
  for (const char* name : {"max_completion_tokens", "max_tokens"}) {
    auto it = doc.FindMember(name);
    if (it != doc.MemberEnd() && it->value.IsInt64()) {
      if (it->value.GetInt64() < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("`", name, "` must not be negative"));
      }
      request.max_tokens = it->value.GetInt64();
      break;
    }
  }
  return request;
}

}  // namespace sluice::sim
