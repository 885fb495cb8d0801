// WriteChatRequest: ChatRequest → an OpenAI-compatible upstream body.
#include <algorithm>
#include <vector>

#include "libs/codec/message_writer.h"
#include "libs/codec/openai_codec.h"

namespace sluice::codec {

using internal::Key;
using internal::String;

std::string WriteChatRequest(const sluice::v1::ChatRequest& request,
                             absl::string_view upstream_model) {
  return WriteChatRequest(request, upstream_model, request.stream());
}

std::string WriteChatRequest(const sluice::v1::ChatRequest& request,
                             absl::string_view upstream_model, bool stream) {
  rapidjson::StringBuffer buffer;
  internal::JsonWriter json(buffer);
  json.StartObject();
  Key(json, "model");
  String(json, upstream_model.empty() ? absl::string_view(request.model())
                                      : upstream_model);
  Key(json, "messages");
  json.StartArray();
  for (const auto& message : request.messages()) {
    internal::WriteMessage(json, message, internal::MessageStyle::kRequest);
  }
  json.EndArray();
  if (stream) {
    Key(json, "stream");
    json.Bool(true);
    // Always ask for usage: metering needs it even if the client did not.
    Key(json, "stream_options");
    json.StartObject();
    Key(json, "include_usage");
    json.Bool(true);
    json.EndObject();
  }
  if (request.has_max_tokens()) {
    Key(json, "max_tokens");
    json.Int(request.max_tokens());
  }
  if (request.has_max_completion_tokens()) {
    Key(json, "max_completion_tokens");
    json.Int(request.max_completion_tokens());
  }
  if (request.has_temperature()) {
    Key(json, "temperature");
    json.Double(request.temperature());
  }
  if (request.has_top_p()) {
    Key(json, "top_p");
    json.Double(request.top_p());
  }
  if (request.has_seed()) {
    Key(json, "seed");
    json.Int64(request.seed());
  }
  if (request.stops_size() > 0) {
    Key(json, "stop");
    json.StartArray();
    for (const auto& stop : request.stops()) String(json, stop);
    json.EndArray();
  }
  if (request.has_n()) {
    Key(json, "n");
    json.Int(request.n());
  }
  if (request.has_presence_penalty()) {
    Key(json, "presence_penalty");
    json.Double(request.presence_penalty());
  }
  if (request.has_frequency_penalty()) {
    Key(json, "frequency_penalty");
    json.Double(request.frequency_penalty());
  }
  if (!request.response_format_json().empty()) {
    Key(json, "response_format");
    internal::Raw(json, request.response_format_json());
  }
  if (!request.tools_json().empty()) {
    Key(json, "tools");
    internal::Raw(json, request.tools_json());
  }
  if (!request.tool_choice_json().empty()) {
    Key(json, "tool_choice");
    internal::Raw(json, request.tool_choice_json());
  }
  if (!request.user().empty()) {
    Key(json, "user");
    String(json, request.user());
  }
  if (!request.metadata().empty()) {
    Key(json, "metadata");
    json.StartObject();
    // Sorted: proto map order is unspecified, and equal requests should
    // give equal bodies.
    std::vector<const google::protobuf::MapPair<std::string, std::string>*>
        entries;
    entries.reserve(request.metadata().size());
    for (const auto& entry : request.metadata()) entries.push_back(&entry);
    std::sort(entries.begin(), entries.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (const auto* entry : entries) {
      Key(json, entry->first);
      String(json, entry->second);
    }
    json.EndObject();
  }
  if (!request.extra_json().empty()) {
    rapidjson::Document extra;
    extra.Parse(request.extra_json().data(), request.extra_json().size());
    if (!extra.HasParseError() && extra.IsObject()) {
      for (const auto& member : extra.GetObject()) {
        json.Key(member.name.GetString(), member.name.GetStringLength());
        member.value.Accept(json);
      }
    }
  }
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::codec
