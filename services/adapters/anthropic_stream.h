// Decodes an Anthropic Messages event stream into OpenAI-shaped chunks:
//   message_start        → a chunk with role "assistant"
//   text_delta           → a content delta
//   thinking_delta       → a reasoning_content delta
//   tool_use block start → a tool call delta with id and name
//   input_json_delta     → a tool call delta with argument text
//   message_delta        → a chunk with finish_reason (usage updated)
//   message_stop         → a usage-only chunk (no choices); the stream is done
//   error                → the stream fails (anthropic_error.h)
// ping, signature deltas, block stops and unknown events are skipped.
#pragma once

#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/http/sse_parser.h"
#include "rapidjson/document.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::adapters {

class AnthropicStreamDecoder {
 public:
  using Emit = std::function<void(sluice::v1::ChatChunk)>;

  // `created` stamps every chunk (Anthropic sends no time); `route` is set
  // on every chunk.
  AnthropicStreamDecoder(std::string provider, std::string route,
                         absl::Time created, Emit emit);

  // One SSE event. After a failure or message_stop, events are ignored.
  void OnEvent(const http::SseParser::Event& event);

  // How the stream ended once the body is over: the first failure, else
  // UNAVAILABLE when message_stop never came, else OK.
  absl::Status EndStatus() const;
  bool done() const { return done_; }  // message_stop came
  bool failed() const { return !failure_.ok(); }

 private:
  absl::Status Decode(absl::string_view type, const rapidjson::Value& data);
  absl::Status BlockStart(const rapidjson::Value& data);
  absl::Status BlockDelta(const rapidjson::Value& data);
  // A chunk with the stream's id, model, created and route.
  sluice::v1::ChatChunk NewChunk() const;
  // NewChunk() with one choice and an empty delta.
  sluice::v1::ChatChunk NewDeltaChunk() const;

  const std::string provider_;
  const std::string route_;
  const int64_t created_;
  const Emit emit_;
  std::string id_;
  std::string model_;
  sluice::v1::Usage usage_;
  // Content block index → OpenAI tool call index.
  absl::flat_hash_map<int, int> tool_index_;
  bool started_ = false;
  bool done_ = false;
  absl::Status failure_;
};

}  // namespace sluice::adapters
