// WriteMessage and WriteUsage: the pieces every codec writer shares.
#include "libs/codec/message_writer.h"

namespace sluice::codec::internal {

void WriteMessage(JsonWriter& json, const sluice::v1::Message& message,
                  MessageStyle style) {
  json.StartObject();
  if (!message.role().empty()) {
    Key(json, "role");
    String(json, message.role());
  }
  switch (message.content_case()) {
    case sluice::v1::Message::kText:
      Key(json, "content");
      String(json, message.text());
      break;
    case sluice::v1::Message::kParts:
      Key(json, "content");
      json.StartArray();
      for (const auto& part : message.parts().parts()) {
        if (!part.raw_json().empty()) {
          Raw(json, part.raw_json());
          continue;
        }
        json.StartObject();
        Key(json, "type");
        String(json, part.type());
        Key(json, "text");
        String(json, part.text());
        json.EndObject();
      }
      json.EndArray();
      break;
    default:
      if (style == MessageStyle::kResponse ||
          (style == MessageStyle::kRequest && message.role() == "assistant")) {
        Key(json, "content");
        json.Null();
      }
      break;
  }
  if (!message.reasoning_content().empty()) {
    Key(json, "reasoning_content");
    String(json, message.reasoning_content());
  }
  if (!message.refusal().empty()) {
    Key(json, "refusal");
    String(json, message.refusal());
  }
  if (!message.name().empty()) {
    Key(json, "name");
    String(json, message.name());
  }
  if (!message.tool_call_id().empty()) {
    Key(json, "tool_call_id");
    String(json, message.tool_call_id());
  }
  if (message.tool_calls_size() > 0) {
    Key(json, "tool_calls");
    json.StartArray();
    for (const auto& call : message.tool_calls()) {
      json.StartObject();
      if (style == MessageStyle::kDelta) {
        Key(json, "index");
        json.Int(call.index());
      }
      if (!call.id().empty()) {
        Key(json, "id");
        String(json, call.id());
      }
      if (!call.type().empty()) {
        Key(json, "type");
        String(json, call.type());
      }
      Key(json, "function");
      json.StartObject();
      if (!call.function_name().empty() || style != MessageStyle::kDelta) {
        Key(json, "name");
        String(json, call.function_name());
      }
      Key(json, "arguments");
      String(json, call.function_arguments());
      json.EndObject();
      json.EndObject();
    }
    json.EndArray();
  }
  json.EndObject();
}

void WriteUsage(JsonWriter& json, const sluice::v1::Usage& usage) {
  json.StartObject();
  Key(json, "prompt_tokens");
  json.Int64(usage.prompt_tokens());
  Key(json, "completion_tokens");
  json.Int64(usage.completion_tokens());
  Key(json, "total_tokens");
  json.Int64(usage.total_tokens());
  Key(json, "prompt_tokens_details");
  json.StartObject();
  Key(json, "cached_tokens");
  json.Int64(usage.cached_tokens());
  json.EndObject();
  Key(json, "completion_tokens_details");
  json.StartObject();
  Key(json, "reasoning_tokens");
  json.Int64(usage.reasoning_tokens());
  json.EndObject();
  if (usage.prompt_cache_hit_tokens() != 0 ||
      usage.prompt_cache_miss_tokens() != 0) {
    Key(json, "prompt_cache_hit_tokens");
    json.Int64(usage.prompt_cache_hit_tokens());
    Key(json, "prompt_cache_miss_tokens");
    json.Int64(usage.prompt_cache_miss_tokens());
  }
  json.EndObject();
}

}  // namespace sluice::codec::internal
