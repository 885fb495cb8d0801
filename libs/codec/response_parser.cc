// ParseChatResponse and ParseChatChunk: an upstream's answers → our protos.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/codec/json_util.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"

namespace sluice::codec {
namespace {

using internal::View;
using rapidjson::Value;

std::string StringOf(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return "";
  return std::string(View(it->value));
}

int64_t IntOf(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsInt64()) return 0;
  return it->value.GetInt64();
}

const Value* ObjectOf(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsObject()) return nullptr;
  return &it->value;
}

void ReadUsage(const Value& v, sluice::v1::Usage& usage) {
  usage.set_prompt_tokens(IntOf(v, "prompt_tokens"));
  usage.set_completion_tokens(IntOf(v, "completion_tokens"));
  usage.set_total_tokens(IntOf(v, "total_tokens"));
  if (const Value* details = ObjectOf(v, "prompt_tokens_details")) {
    usage.set_cached_tokens(IntOf(*details, "cached_tokens"));
  }
  if (const Value* details = ObjectOf(v, "completion_tokens_details")) {
    usage.set_reasoning_tokens(IntOf(*details, "reasoning_tokens"));
  }
  usage.set_prompt_cache_hit_tokens(IntOf(v, "prompt_cache_hit_tokens"));
  usage.set_prompt_cache_miss_tokens(IntOf(v, "prompt_cache_miss_tokens"));
  if (usage.cached_tokens() == 0) {
    usage.set_cached_tokens(usage.prompt_cache_hit_tokens());
  }
}

void ReadMessage(const Value& v, sluice::v1::Message& message) {
  message.set_role(StringOf(v, "role"));
  if (auto it = v.FindMember("content");
      it != v.MemberEnd() && it->value.IsString()) {
    message.set_text(std::string(View(it->value)));
  }
  message.set_reasoning_content(StringOf(v, "reasoning_content"));
  message.set_refusal(StringOf(v, "refusal"));
  auto calls = v.FindMember("tool_calls");
  if (calls == v.MemberEnd() || !calls->value.IsArray()) return;
  int i = 0;
  for (const Value& call : calls->value.GetArray()) {
    if (!call.IsObject()) continue;
    sluice::v1::ToolCall* out = message.add_tool_calls();
    out->set_index(call.HasMember("index")
                       ? static_cast<int32_t>(IntOf(call, "index"))
                       : i);
    ++i;
    out->set_id(StringOf(call, "id"));
    out->set_type(StringOf(call, "type"));
    if (const Value* fn = ObjectOf(call, "function")) {
      out->set_function_name(StringOf(*fn, "name"));
      out->set_function_arguments(StringOf(*fn, "arguments"));
    }
  }
}

// Parses `json` into `doc`; an {"error":...} body becomes its status.
absl::Status ParseBody(absl::string_view json, rapidjson::Document& doc) {
  json =
      absl::StripLeadingAsciiWhitespace(json);  // DeepSeek's keep-alive lines
  doc.Parse<internal::kUntrustedParseFlags>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::UnavailableError(absl::StrCat(
        "malformed JSON from upstream at offset ", doc.GetErrorOffset()));
  }
  if (const Value* error = ObjectOf(doc, "error")) {
    std::string message = StringOf(*error, "message");
    return status::UpstreamError(
        status::RedactSecrets(absl::StrCat("upstream error: ", message)), 502,
        StringOf(*error, "type"), StringOf(*error, "code"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<sluice::v1::ChatResponse> ParseChatResponse(
    absl::string_view json) {
  rapidjson::Document doc;
  if (absl::Status s = ParseBody(json, doc); !s.ok()) return s;
  sluice::v1::ChatResponse response;
  response.set_id(StringOf(doc, "id"));
  response.set_created(IntOf(doc, "created"));
  response.set_model(StringOf(doc, "model"));
  response.set_system_fingerprint(StringOf(doc, "system_fingerprint"));
  if (auto it = doc.FindMember("choices");
      it != doc.MemberEnd() && it->value.IsArray()) {
    for (const Value& c : it->value.GetArray()) {
      if (!c.IsObject()) continue;
      sluice::v1::Choice* choice = response.add_choices();
      choice->set_index(static_cast<int32_t>(IntOf(c, "index")));
      choice->set_finish_reason(StringOf(c, "finish_reason"));
      if (const Value* message = ObjectOf(c, "message")) {
        ReadMessage(*message, *choice->mutable_message());
      }
    }
  }
  if (const Value* usage = ObjectOf(doc, "usage")) {
    ReadUsage(*usage, *response.mutable_usage());
  }
  return response;
}

absl::StatusOr<sluice::v1::ChatChunk> ParseChatChunk(absl::string_view json) {
  rapidjson::Document doc;
  if (absl::Status s = ParseBody(json, doc); !s.ok()) return s;
  sluice::v1::ChatChunk chunk;
  chunk.set_id(StringOf(doc, "id"));
  chunk.set_created(IntOf(doc, "created"));
  chunk.set_model(StringOf(doc, "model"));
  chunk.set_system_fingerprint(StringOf(doc, "system_fingerprint"));
  if (auto it = doc.FindMember("choices");
      it != doc.MemberEnd() && it->value.IsArray()) {
    for (const Value& c : it->value.GetArray()) {
      if (!c.IsObject()) continue;
      sluice::v1::ChunkChoice* choice = chunk.add_choices();
      choice->set_index(static_cast<int32_t>(IntOf(c, "index")));
      choice->set_finish_reason(StringOf(c, "finish_reason"));
      if (const Value* delta = ObjectOf(c, "delta")) {
        ReadMessage(*delta, *choice->mutable_delta());
      }
    }
  }
  if (const Value* usage = ObjectOf(doc, "usage")) {
    ReadUsage(*usage, *chunk.mutable_usage());
  }
  return chunk;
}

}  // namespace sluice::codec
