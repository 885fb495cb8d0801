// Anthropic Messages wire format; see anthropic_encoder.h.
#include "tools/upstream-sim/anthropic_encoder.h"

#include "absl/strings/str_cat.h"
#include "tools/upstream-sim/json.h"

namespace sluice::sim {
namespace {

absl::string_view StopReason(const Answer& answer) {
  return answer.finish_reason == "length" ? "max_tokens" : "end_turn";
}

std::string Signature(const Answer& answer) {
  return absl::StrCat("sig_sim_", answer.id);
}

void WriteUsage(JsonWriter& w, int64_t input, int64_t output) {
  w.StartObject();
  w.Key("input_tokens");
  w.Int64(input);
  w.Key("output_tokens");
  w.Int64(output);
  w.Key("cache_creation_input_tokens");
  w.Int(0);
  w.Key("cache_read_input_tokens");
  w.Int(0);
  w.EndObject();
}

// The members a message object starts with.
void WriteMessageHead(JsonWriter& w, const ChatRequest& request,
                      const Answer& answer) {
  w.Key("id");
  WriteString(w, absl::StrCat("msg_", answer.id));
  w.Key("type");
  w.String("message");
  w.Key("role");
  w.String("assistant");
  w.Key("model");
  WriteString(w, request.model);
}

std::string Event(absl::string_view name, absl::string_view data) {
  return absl::StrCat("event: ", name, "\ndata: ", data, "\n\n");
}

std::string BlockStart(int index, bool thinking) {
  return Event("content_block_start", ToJson([&](JsonWriter& w) {
                 w.StartObject();
                 w.Key("type");
                 w.String("content_block_start");
                 w.Key("index");
                 w.Int(index);
                 w.Key("content_block");
                 w.StartObject();
                 w.Key("type");
                 w.String(thinking ? "thinking" : "text");
                 w.Key(thinking ? "thinking" : "text");
                 w.String("");
                 if (thinking) {
                   w.Key("signature");
                   w.String("");
                 }
                 w.EndObject();
                 w.EndObject();
               }));
}

// A content_block_delta of `type` ("text_delta", ...) setting `field`.
std::string BlockDelta(int index, absl::string_view type,
                       absl::string_view field, absl::string_view value) {
  return Event("content_block_delta", ToJson([&](JsonWriter& w) {
                 w.StartObject();
                 w.Key("type");
                 w.String("content_block_delta");
                 w.Key("index");
                 w.Int(index);
                 w.Key("delta");
                 w.StartObject();
                 w.Key("type");
                 WriteString(w, type);
                 w.Key(field.data(),
                       static_cast<rapidjson::SizeType>(field.size()));
                 WriteString(w, value);
                 w.EndObject();
                 w.EndObject();
               }));
}

std::string BlockStop(int index) {
  return Event(
      "content_block_stop",
      absl::StrCat(R"({"type":"content_block_stop","index":)", index, "}"));
}

}  // namespace

std::string AnthropicMessage(const ChatRequest& request, const Answer& answer) {
  return ToJson([&](JsonWriter& w) {
    w.StartObject();
    WriteMessageHead(w, request, answer);
    w.Key("content");
    w.StartArray();
    if (request.thinking) {
      w.StartObject();
      w.Key("type");
      w.String("thinking");
      w.Key("thinking");
      WriteString(w, answer.ReasoningText());
      w.Key("signature");
      WriteString(w, Signature(answer));
      w.EndObject();
    }
    w.StartObject();
    w.Key("type");
    w.String("text");
    w.Key("text");
    WriteString(w, answer.ContentText());
    w.EndObject();
    w.EndArray();
    w.Key("stop_reason");
    WriteString(w, StopReason(answer));
    w.Key("stop_sequence");
    w.Null();
    w.Key("usage");
    WriteUsage(w, answer.prompt_tokens, answer.completion_tokens());
    w.EndObject();
  });
}

void EncodeAnthropicStream(const ChatRequest& request, const Answer& answer,
                           ScriptBuilder& script) {
  script.Frame(Event("message_start", ToJson([&](JsonWriter& w) {
                       w.StartObject();
                       w.Key("type");
                       w.String("message_start");
                       w.Key("message");
                       w.StartObject();
                       WriteMessageHead(w, request, answer);
                       w.Key("content");
                       w.StartArray();
                       w.EndArray();
                       w.Key("stop_reason");
                       w.Null();
                       w.Key("stop_sequence");
                       w.Null();
                       w.Key("usage");
                       WriteUsage(w, answer.prompt_tokens, 0);
                       w.EndObject();
                       w.EndObject();
                     })));
  int index = 0;
  bool more = true;
  if (request.thinking) {
    script.Frame(BlockStart(index, /*thinking=*/true));
    script.Frame(Event("ping", R"({"type":"ping"})"));
    for (size_t i = 0; more && i < answer.reasoning.size(); ++i) {
      more = script.Token(
          BlockDelta(index, "thinking_delta", "thinking", answer.reasoning[i]),
          Step::Carries::kReasoning);
    }
    script.Frame(
        BlockDelta(index, "signature_delta", "signature", Signature(answer)));
    script.Frame(BlockStop(index));
    ++index;
  }
  script.Frame(BlockStart(index, /*thinking=*/false));
  if (index == 0) script.Frame(Event("ping", R"({"type":"ping"})"));
  for (size_t i = 0; more && i < answer.content.size(); ++i) {
    more = script.Token(
        BlockDelta(index, "text_delta", "text", answer.content[i]));
  }
  std::vector<std::string> closing;
  closing.push_back(BlockStop(index));
  closing.push_back(Event("message_delta", ToJson([&](JsonWriter& w) {
                            w.StartObject();
                            w.Key("type");
                            w.String("message_delta");
                            w.Key("delta");
                            w.StartObject();
                            w.Key("stop_reason");
                            WriteString(w, StopReason(answer));
                            w.Key("stop_sequence");
                            w.Null();
                            w.EndObject();
                            w.Key("usage");
                            w.StartObject();
                            w.Key("output_tokens");
                            w.Int64(answer.completion_tokens());
                            w.EndObject();
                            w.EndObject();
                          })));
  closing.push_back(Event("message_stop", R"({"type":"message_stop"})"));
  script.Finish(std::move(closing));
}

std::string AnthropicMalformedEvent() {
  return "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
         "\"index\":\n\n";
}

std::string AnthropicError(absl::string_view type, absl::string_view message) {
  return ToJson([&](JsonWriter& w) {
    w.StartObject();
    w.Key("type");
    w.String("error");
    w.Key("error");
    w.StartObject();
    w.Key("type");
    WriteString(w, type);
    w.Key("message");
    WriteString(w, message);
    w.EndObject();
    w.EndObject();
  });
}

}  // namespace sluice::sim
