// Anthropic SSE events → ChatChunks; see anthropic_stream.h.
#include "services/adapters/anthropic_stream.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/codec/json_util.h"
#include "libs/status/errors.h"
#include "services/adapters/anthropic_error.h"
#include "services/adapters/anthropic_response.h"

namespace sluice::adapters {
namespace {

using rapidjson::Value;

using codec::internal::StringMember;

const Value* ObjectMember(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsObject()) return nullptr;
  return &it->value;
}

}  // namespace

AnthropicStreamDecoder::AnthropicStreamDecoder(std::string provider,
                                               std::string route,
                                               absl::Time created, Emit emit)
    : provider_(std::move(provider)),
      route_(std::move(route)),
      created_(absl::ToUnixSeconds(created)),
      emit_(std::move(emit)) {}

absl::Status AnthropicStreamDecoder::EndStatus() const {
  if (!failure_.ok()) return failure_;
  if (!done_) {
    return absl::UnavailableError(absl::StrCat(
        "upstream ", provider_, " ended the stream without message_stop"));
  }
  return absl::OkStatus();
}

void AnthropicStreamDecoder::OnEvent(const http::SseParser::Event& event) {
  if (done_ || !failure_.ok()) return;
  if (event.event == "error") {
    failure_ = AnthropicStreamError(provider_, event.data);
    return;
  }
  rapidjson::Document data;
  data.Parse<codec::internal::kUntrustedParseFlags>(event.data.data(),
                                                    event.data.size());
  if (data.HasParseError() || !data.IsObject()) {
    failure_ = status::UpstreamError(
        absl::StrCat("upstream ", provider_, " sent a malformed ",
                     event.event.empty() ? "message" : event.event, " event"),
        502);
    return;
  }
  // The data's own type is authoritative; the event name is a copy of it.
  absl::string_view type = StringMember(data, "type");
  if (type.empty()) type = event.event;
  if (type == "error") {
    failure_ = AnthropicStreamError(provider_, event.data);
    return;
  }
  failure_ = Decode(type, data);
}

absl::Status AnthropicStreamDecoder::Decode(absl::string_view type,
                                            const Value& data) {
  if (type == "message_start") {
    if (const Value* message = ObjectMember(data, "message")) {
      id_ = std::string(StringMember(*message, "id"));
      model_ = std::string(StringMember(*message, "model"));
      if (const Value* usage = ObjectMember(*message, "usage")) {
        MergeAnthropicUsage(*usage, usage_);
      }
    }
    sluice::v1::ChatChunk chunk = NewDeltaChunk();
    sluice::v1::Message* delta = chunk.mutable_choices(0)->mutable_delta();
    delta->set_role("assistant");
    delta->set_text("");
    started_ = true;
    emit_(std::move(chunk));
    return absl::OkStatus();
  }
  if (!started_ && type != "ping") {
    return status::UpstreamError(absl::StrCat("upstream ", provider_, " sent ",
                                              type, " before message_start"),
                                 502);
  }
  if (type == "content_block_start") return BlockStart(data);
  if (type == "content_block_delta") return BlockDelta(data);
  if (type == "message_delta") {
    if (const Value* usage = ObjectMember(data, "usage")) {
      MergeAnthropicUsage(*usage, usage_);
    }
    const Value* delta_json = ObjectMember(data, "delta");
    absl::string_view stop =
        delta_json == nullptr ? "" : StringMember(*delta_json, "stop_reason");
    if (!stop.empty()) {
      sluice::v1::ChatChunk chunk = NewDeltaChunk();
      chunk.mutable_choices(0)->set_finish_reason(FinishReasonOf(stop));
      emit_(std::move(chunk));
    }
    return absl::OkStatus();
  }
  if (type == "message_stop") {
    sluice::v1::ChatChunk chunk = NewChunk();
    *chunk.mutable_usage() = usage_;
    done_ = true;
    emit_(std::move(chunk));
  }
  return absl::OkStatus();  // ping, content_block_stop, unknown events
}

absl::Status AnthropicStreamDecoder::BlockStart(const Value& data) {
  const Value* block = ObjectMember(data, "content_block");
  auto index = data.FindMember("index");
  if (block == nullptr || index == data.MemberEnd() || !index->value.IsInt()) {
    return status::UpstreamError(
        absl::StrCat("upstream ", provider_,
                     " sent a content_block_start without index or block"),
        502);
  }
  absl::string_view type = StringMember(*block, "type");
  sluice::v1::ChatChunk chunk = NewDeltaChunk();
  sluice::v1::Message* delta = chunk.mutable_choices(0)->mutable_delta();
  if (type == "tool_use") {
    int tool = static_cast<int>(tool_index_.size());
    tool_index_[index->value.GetInt()] = tool;
    sluice::v1::ToolCall* call = delta->add_tool_calls();
    call->set_index(tool);
    call->set_id(std::string(StringMember(*block, "id")));
    call->set_type("function");
    call->set_function_name(std::string(StringMember(*block, "name")));
  } else if (type == "text" && !StringMember(*block, "text").empty()) {
    delta->set_text(std::string(StringMember(*block, "text")));
  } else if (type == "thinking" && !StringMember(*block, "thinking").empty()) {
    delta->set_reasoning_content(std::string(StringMember(*block, "thinking")));
  } else {
    return absl::OkStatus();
  }
  emit_(std::move(chunk));
  return absl::OkStatus();
}

absl::Status AnthropicStreamDecoder::BlockDelta(const Value& data) {
  const Value* delta_json = ObjectMember(data, "delta");
  if (delta_json == nullptr) {
    return status::UpstreamError(
        absl::StrCat("upstream ", provider_,
                     " sent a content_block_delta without delta"),
        502);
  }
  absl::string_view type = StringMember(*delta_json, "type");
  sluice::v1::ChatChunk chunk = NewDeltaChunk();
  sluice::v1::Message* delta = chunk.mutable_choices(0)->mutable_delta();
  if (type == "text_delta") {
    delta->set_text(std::string(StringMember(*delta_json, "text")));
  } else if (type == "thinking_delta") {
    delta->set_reasoning_content(
        std::string(StringMember(*delta_json, "thinking")));
  } else if (type == "input_json_delta") {
    auto index = data.FindMember("index");
    auto tool = index != data.MemberEnd() && index->value.IsInt()
                    ? tool_index_.find(index->value.GetInt())
                    : tool_index_.end();
    if (tool == tool_index_.end()) {
      return status::UpstreamError(
          absl::StrCat("upstream ", provider_,
                       " sent input_json_delta outside a tool_use block"),
          502);
    }
    sluice::v1::ToolCall* call = delta->add_tool_calls();
    call->set_index(tool->second);
    call->set_function_arguments(
        std::string(StringMember(*delta_json, "partial_json")));
  } else {
    return absl::OkStatus();  // signature_delta, citations_delta, ...
  }
  emit_(std::move(chunk));
  return absl::OkStatus();
}

sluice::v1::ChatChunk AnthropicStreamDecoder::NewChunk() const {
  sluice::v1::ChatChunk chunk;
  chunk.set_id(id_);
  chunk.set_created(created_);
  chunk.set_model(model_);
  chunk.set_route(route_);
  return chunk;
}

sluice::v1::ChatChunk AnthropicStreamDecoder::NewDeltaChunk() const {
  sluice::v1::ChatChunk chunk = NewChunk();
  sluice::v1::ChunkChoice* choice = chunk.add_choices();
  choice->set_index(0);
  choice->mutable_delta();
  return chunk;
}

}  // namespace sluice::adapters
