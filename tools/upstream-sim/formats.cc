#include "tools/upstream-sim/formats.h"

#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sluice::sim {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void WriteUsage(Writer& w, const Usage& u) {
  w.StartObject();
  w.Key("prompt_tokens");
  w.Int64(u.prompt);
  w.Key("completion_tokens");
  w.Int64(u.completion);
  w.Key("total_tokens");
  w.Int64(u.prompt + u.completion);
  w.Key("prompt_tokens_details");
  w.StartObject();
  w.Key("cached_tokens");
  w.Int64(u.cache_hit);
  w.EndObject();
  w.Key("completion_tokens_details");
  w.StartObject();
  w.Key("reasoning_tokens");
  w.Int64(u.reasoning);
  w.EndObject();
  w.Key("prompt_cache_hit_tokens");
  w.Int64(u.cache_hit);
  w.Key("prompt_cache_miss_tokens");
  w.Int64(u.prompt - u.cache_hit);
  w.EndObject();
}

void ChunkHeader(Writer& w, const std::string& model, const SimAnswer& answer) {
  w.Key("id");
  Str(w, "chatcmpl-" + answer.id_hex);
  w.Key("object");
  w.String("chat.completion.chunk");
  w.Key("created");
  w.Int64(kCreated);
  w.Key("model");
  Str(w, model);
  w.Key("system_fingerprint");
  w.String("fp_sim");
}

std::string Done(const rapidjson::StringBuffer& b) {
  return std::string(b.GetString(), b.GetSize());
}

}  // namespace

std::string OpenAIResponse(const std::string& model, const SimAnswer& answer,
                           const Usage& usage) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("id");
  Str(w, "chatcmpl-" + answer.id_hex);
  w.Key("object");
  w.String("chat.completion");
  w.Key("created");
  w.Int64(kCreated);
  w.Key("model");
  Str(w, model);
  w.Key("choices");
  w.StartArray();
  w.StartObject();
  w.Key("index");
  w.Int(0);
  w.Key("message");
  w.StartObject();
  w.Key("role");
  w.String("assistant");
  w.Key("content");
  Str(w, answer.Content());
  if (!answer.reasoning.empty()) {
    w.Key("reasoning_content");
    Str(w, answer.Reasoning());
  }
  w.EndObject();
  w.Key("logprobs");
  w.Null();
  w.Key("finish_reason");
  Str(w, answer.finish_reason);
  w.EndObject();
  w.EndArray();
  w.Key("usage");
  WriteUsage(w, usage);
  w.Key("system_fingerprint");
  w.String("fp_sim");
  w.EndObject();
  return Done(b);
}

std::string OpenAIChunk(const std::string& model, const SimAnswer& answer,
                        const std::string& delta_json,
                        const std::string& finish_reason, bool usage_null) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  ChunkHeader(w, model, answer);
  w.Key("choices");
  w.StartArray();
  w.StartObject();
  w.Key("index");
  w.Int(0);
  w.Key("delta");
  w.RawValue(delta_json.data(), delta_json.size(), rapidjson::kObjectType);
  w.Key("logprobs");
  w.Null();
  w.Key("finish_reason");
  if (finish_reason.empty()) {
    w.Null();
  } else {
    Str(w, finish_reason);
  }
  w.EndObject();
  w.EndArray();
  if (usage_null) {
    w.Key("usage");
    w.Null();
  }
  w.EndObject();
  return Done(b);
}

std::string OpenAIUsageChunk(const std::string& model, const SimAnswer& answer,
                             const Usage& usage) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  ChunkHeader(w, model, answer);
  w.Key("choices");
  w.StartArray();
  w.EndArray();
  w.Key("usage");
  WriteUsage(w, usage);
  w.EndObject();
  return Done(b);
}

std::string ContentDelta(const std::string& piece) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("content");
  Str(w, piece);
  w.EndObject();
  return Done(b);
}

std::string ReasoningDelta(const std::string& piece) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("content");
  w.Null();
  w.Key("reasoning_content");
  Str(w, piece);
  w.EndObject();
  return Done(b);
}

std::string OpenAIError(const std::string& type, const std::string& message,
                        const std::string& code) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("message");
  Str(w, message);
  w.Key("type");
  Str(w, type);
  w.Key("param");
  w.Null();
  w.Key("code");
  Str(w, code);
  w.EndObject();
  w.EndObject();
  return Done(b);
}

std::string AnthropicResponse(const std::string& model, const SimAnswer& answer) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("id");
  Str(w, "msg_" + answer.id_hex);
  w.Key("type");
  w.String("message");
  w.Key("role");
  w.String("assistant");
  w.Key("model");
  Str(w, model);
  w.Key("content");
  w.StartArray();
  w.StartObject();
  w.Key("type");
  w.String("text");
  w.Key("text");
  Str(w, answer.Content());
  w.EndObject();
  w.EndArray();
  w.Key("stop_reason");
  w.String(answer.finish_reason == "length" ? "max_tokens" : "end_turn");
  w.Key("stop_sequence");
  w.Null();
  w.Key("usage");
  w.StartObject();
  w.Key("input_tokens");
  w.Int64(answer.prompt_tokens);
  w.Key("output_tokens");
  w.Int64(answer.completion_tokens());
  w.Key("cache_creation_input_tokens");
  w.Int(0);
  w.Key("cache_read_input_tokens");
  w.Int(0);
  w.EndObject();
  w.EndObject();
  return Done(b);
}

std::string AnthropicError(const std::string& type, const std::string& message) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("type");
  w.String("error");
  w.Key("error");
  w.StartObject();
  w.Key("type");
  Str(w, type);
  w.Key("message");
  Str(w, message);
  w.EndObject();
  w.EndObject();
  return Done(b);
}

std::string AnthropicEvent(const std::string& event, const std::string& data_json) {
  return absl::StrCat("event: ", event, "\ndata: ", data_json, "\n\n");
}

}  // namespace sluice::sim
