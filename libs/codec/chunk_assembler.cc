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

}  // namespace sluice::codec
