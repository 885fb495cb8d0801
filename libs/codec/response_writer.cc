// WriteChatResponse and WriteChatChunk: our answers in OpenAI's shapes.
#include "libs/codec/message_writer.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/openai_error.h"

namespace sluice::codec {

using internal::Key;
using internal::String;
using internal::StringOrNull;

namespace {

void WriteHeader(internal::JsonWriter& json, const std::string& id,
                 const char* object, int64_t created,
                 const std::string& model) {
  Key(json, "id");
  String(json, id);
  Key(json, "object");
  json.String(object);
  Key(json, "created");
  json.Int64(created);
  Key(json, "model");
  String(json, model);
}

// "choices": [{index, message|delta, logprobs, finish_reason}, ...] for
// answers (Choice) and chunks (ChunkChoice) alike.
template <typename Choices, typename MessageOf>
void WriteChoices(internal::JsonWriter& json, const Choices& choices,
                  const char* message_key, internal::MessageStyle style,
                  MessageOf message_of) {
  Key(json, "choices");
  json.StartArray();
  for (const auto& choice : choices) {
    json.StartObject();
    Key(json, "index");
    json.Int(choice.index());
    Key(json, message_key);
    internal::WriteMessage(json, message_of(choice), style);
    Key(json, "logprobs");
    json.Null();
    Key(json, "finish_reason");
    StringOrNull(json, choice.finish_reason());
    json.EndObject();
  }
  json.EndArray();
}

}  // namespace

std::string WriteChatResponse(const sluice::v1::ChatResponse& response) {
  rapidjson::StringBuffer buffer;
  internal::JsonWriter json(buffer);
  json.StartObject();
  WriteHeader(json, response.id(), "chat.completion", response.created(),
              response.model());
  WriteChoices(
      json, response.choices(), "message", internal::MessageStyle::kResponse,
      [](const auto& choice) -> const auto& { return choice.message(); });
  if (response.has_usage()) {
    Key(json, "usage");
    internal::WriteUsage(json, response.usage());
  }
  Key(json, "system_fingerprint");
  StringOrNull(json, response.system_fingerprint());
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string WriteChatChunk(const sluice::v1::ChatChunk& chunk,
                           bool include_usage_field) {
  if (chunk.has_error()) return status::OpenAIErrorJson(chunk.error());
  rapidjson::StringBuffer buffer;
  internal::JsonWriter json(buffer);
  json.StartObject();
  WriteHeader(json, chunk.id(), "chat.completion.chunk", chunk.created(),
              chunk.model());
  Key(json, "system_fingerprint");
  StringOrNull(json, chunk.system_fingerprint());
  WriteChoices(
      json, chunk.choices(), "delta", internal::MessageStyle::kDelta,
      [](const auto& choice) -> const auto& { return choice.delta(); });
  if (include_usage_field) {
    Key(json, "usage");
    if (chunk.has_usage()) {
      internal::WriteUsage(json, chunk.usage());
    } else {
      json.Null();
    }
  }
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::codec
