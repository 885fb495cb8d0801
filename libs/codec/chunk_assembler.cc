#include "libs/codec/chunk_assembler.h"

namespace sluice::codec {
namespace {

void MergeToolCall(const sluice::v1::ToolCall& delta,
                   sluice::v1::Message& message) {
  for (sluice::v1::ToolCall& call : *message.mutable_tool_calls()) {
    if (call.index() != delta.index()) continue;
    if (!delta.id().empty()) call.set_id(delta.id());
    if (!delta.type().empty()) call.set_type(delta.type());
    if (!delta.function_name().empty()) {
      call.set_function_name(delta.function_name());
    }
    call.mutable_function_arguments()->append(delta.function_arguments());
    return;
  }
  *message.add_tool_calls() = delta;
}

}  // namespace

void ChunkAssembler::Add(const sluice::v1::ChatChunk& chunk) {
  if (head_.id().empty()) head_.set_id(chunk.id());
  if (head_.created() == 0) head_.set_created(chunk.created());
  if (head_.model().empty()) head_.set_model(chunk.model());
  if (head_.route().empty()) head_.set_route(chunk.route());
  if (head_.system_fingerprint().empty()) {
    head_.set_system_fingerprint(chunk.system_fingerprint());
  }
  if (chunk.has_usage()) *head_.mutable_usage() = chunk.usage();
  if (chunk.has_decision()) *head_.mutable_decision() = chunk.decision();
  for (const sluice::v1::ChunkChoice& delta : chunk.choices()) {
    sluice::v1::Choice& choice = choices_[delta.index()];
    choice.set_index(delta.index());
    sluice::v1::Message& message = *choice.mutable_message();
    const sluice::v1::Message& part = delta.delta();
    if (!part.role().empty()) message.set_role(part.role());
    // Content stays null (unset) unless some delta carries text.
    if (part.has_text()) message.mutable_text()->append(part.text());
    message.mutable_reasoning_content()->append(part.reasoning_content());
    message.mutable_refusal()->append(part.refusal());
    for (const sluice::v1::ToolCall& call : part.tool_calls()) {
      MergeToolCall(call, message);
    }
    if (!delta.finish_reason().empty()) {
      choice.set_finish_reason(delta.finish_reason());
    }
  }
}

sluice::v1::ChatResponse ChunkAssembler::Response() const {
  sluice::v1::ChatResponse response = head_;
  for (const auto& [index, choice] : choices_) {
    sluice::v1::Choice& out = *response.add_choices();
    out = choice;
    if (out.message().role().empty()) {
      out.mutable_message()->set_role("assistant");
    }
  }
  return response;
}

std::vector<sluice::v1::ChatChunk> ChunksOf(
    const sluice::v1::ChatResponse& response) {
  std::vector<sluice::v1::ChatChunk> chunks;
  auto next = [&]() -> sluice::v1::ChatChunk& {
    sluice::v1::ChatChunk& chunk = chunks.emplace_back();
    chunk.set_id(response.id());
    chunk.set_created(response.created());
    chunk.set_model(response.model());
    chunk.set_system_fingerprint(response.system_fingerprint());
    chunk.set_route(response.route());
    return chunk;
  };
  for (const sluice::v1::Choice& choice : response.choices()) {
    const sluice::v1::Message& message = choice.message();
    auto delta = [&]() -> sluice::v1::Message& {
      sluice::v1::ChunkChoice* out = next().add_choices();
      out->set_index(choice.index());
      return *out->mutable_delta();
    };
    sluice::v1::Message& role = delta();
    role.set_role(message.role().empty() ? "assistant" : message.role());
    role.set_text("");
    if (!message.reasoning_content().empty()) {
      delta().set_reasoning_content(message.reasoning_content());
    }
    if (message.has_text() && !message.text().empty()) {
      delta().set_text(message.text());
    }
    if (!message.refusal().empty()) delta().set_refusal(message.refusal());
    for (int i = 0; i < message.tool_calls_size(); ++i) {
      sluice::v1::ToolCall* call = delta().add_tool_calls();
      *call = message.tool_calls(i);
      call->set_index(i);
    }
    sluice::v1::ChunkChoice* finish = next().add_choices();
    finish->set_index(choice.index());
    finish->mutable_delta();
    finish->set_finish_reason(choice.finish_reason());
  }
  if (response.has_usage()) *next().mutable_usage() = response.usage();
  return chunks;
}

}  // namespace sluice::codec
