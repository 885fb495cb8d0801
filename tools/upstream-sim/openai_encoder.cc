// OpenAI / DeepSeek wire format; see openai_encoder.h.
#include "tools/upstream-sim/openai_encoder.h"

#include "absl/strings/str_cat.h"
#include "tools/upstream-sim/json.h"

namespace sluice::sim {
namespace {

void WriteUsage(JsonWriter& w, const Usage& usage) {
  w.StartObject();
  w.Key("prompt_tokens");
  w.Int64(usage.prompt_tokens);
  w.Key("completion_tokens");
  w.Int64(usage.completion_tokens);
  w.Key("total_tokens");
  w.Int64(usage.prompt_tokens + usage.completion_tokens);
  if (!usage.details) {
    w.EndObject();
    return;
  }
  w.Key("prompt_tokens_details");
  w.StartObject();
  w.Key("cached_tokens");
  w.Int64(usage.cache_hit_tokens);
  w.EndObject();
  w.Key("completion_tokens_details");
  w.StartObject();
  w.Key("reasoning_tokens");
  w.Int64(usage.reasoning_tokens);
  w.EndObject();
  w.Key("prompt_cache_hit_tokens");
  w.Int64(usage.cache_hit_tokens);
  w.Key("prompt_cache_miss_tokens");
  w.Int64(usage.prompt_tokens - usage.cache_hit_tokens);
  w.EndObject();
}

// The members every object of one answer starts with.
void WriteHead(JsonWriter& w, const ChatRequest& request, const Answer& answer,
               absl::string_view object) {
  w.Key("id");
  WriteString(w, absl::StrCat("chatcmpl-", answer.id));
  w.Key("object");
  WriteString(w, object);
  w.Key("created");
  w.Int64(kCreated);
  w.Key("model");
  WriteString(w, request.model);
  w.Key("system_fingerprint");
  w.String("fp_sim");
}

// Which fields a chunk's delta carries.
struct Delta {
  bool role = false;
  const std::string* content = nullptr;    // null: "content":null
  const std::string* reasoning = nullptr;  // null: absent, or null when
  bool reasoning_null = false;             // reasoning_null
  bool empty = false;                      // {}
};

std::string Chunk(const ChatRequest& request, const Answer& answer,
                  const Delta& delta, absl::string_view finish_reason) {
  return ToJson([&](JsonWriter& w) {
    w.StartObject();
    WriteHead(w, request, answer, "chat.completion.chunk");
    w.Key("choices");
    w.StartArray();
    w.StartObject();
    w.Key("index");
    w.Int(0);
    w.Key("delta");
    w.StartObject();
    if (!delta.empty) {
      if (delta.role) {
        w.Key("role");
        w.String("assistant");
      }
      w.Key("content");
      if (delta.content != nullptr) {
        WriteString(w, *delta.content);
      } else {
        w.Null();
      }
      if (delta.reasoning != nullptr) {
        w.Key("reasoning_content");
        WriteString(w, *delta.reasoning);
      } else if (delta.reasoning_null) {
        w.Key("reasoning_content");
        w.Null();
      }
    }
    w.EndObject();
    w.Key("logprobs");
    w.Null();
    w.Key("finish_reason");
    if (finish_reason.empty()) {
      w.Null();
    } else {
      WriteString(w, finish_reason);
    }
    w.EndObject();
    w.EndArray();
    if (request.include_usage) {
      w.Key("usage");
      w.Null();
    }
    w.EndObject();
  });
}

std::string Event(absl::string_view data) {
  return absl::StrCat("data: ", data, "\n\n");
}

}  // namespace

std::string OpenAICompletion(const ChatRequest& request, const Answer& answer,
                             const Usage& usage) {
  return ToJson([&](JsonWriter& w) {
    w.StartObject();
    WriteHead(w, request, answer, "chat.completion");
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
    WriteString(w, answer.ContentText());
    if (request.thinking) {
      w.Key("reasoning_content");
      WriteString(w, answer.ReasoningText());
    }
    w.EndObject();
    w.Key("logprobs");
    w.Null();
    w.Key("finish_reason");
    WriteString(w, answer.finish_reason);
    w.EndObject();
    w.EndArray();
    w.Key("usage");
    WriteUsage(w, usage);
    w.EndObject();
  });
}

void EncodeOpenAIStream(const ChatRequest& request, const Answer& answer,
                        const Usage& usage, ScriptBuilder& script) {
  const std::string empty;
  script.Frame(
      Event(Chunk(request, answer, {.role = true, .content = &empty}, "")));
  bool more = true;
  for (size_t i = 0; more && i < answer.reasoning.size(); ++i) {
    more = script.Token(
        Event(Chunk(request, answer, {.reasoning = &answer.reasoning[i]}, "")),
        Step::Carries::kReasoning);
  }
  for (size_t i = 0; more && i < answer.content.size(); ++i) {
    more = script.Token(Event(Chunk(
        request, answer,
        {.content = &answer.content[i], .reasoning_null = request.thinking},
        "")));
  }
  std::vector<std::string> closing;
  closing.push_back(
      Event(Chunk(request, answer, {.empty = true}, answer.finish_reason)));
  if (request.include_usage) {
    closing.push_back(Event(ToJson([&](JsonWriter& w) {
      w.StartObject();
      WriteHead(w, request, answer, "chat.completion.chunk");
      w.Key("choices");
      w.StartArray();
      w.EndArray();
      w.Key("usage");
      WriteUsage(w, usage);
      w.EndObject();
    })));
  }
  closing.push_back("data: [DONE]\n\n");
  script.Finish(std::move(closing));
}

std::string OpenAIMalformedEvent() {
  return "data: {\"id\":\"chatcmpl-broken\",\"choices\":[{\"delta\":\n\n";
}

std::string OpenAIError(absl::string_view type, absl::string_view message,
                        absl::string_view code) {
  return ToJson([&](JsonWriter& w) {
    w.StartObject();
    w.Key("error");
    w.StartObject();
    w.Key("message");
    WriteString(w, message);
    w.Key("type");
    WriteString(w, type);
    w.Key("param");
    w.Null();
    w.Key("code");
    if (code.empty()) {
      w.Null();
    } else {
      WriteString(w, code);
    }
    w.EndObject();
    w.EndObject();
  });
}

}  // namespace sluice::sim
