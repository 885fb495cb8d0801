// Writes the parts shared by requests, responses and chunks: messages (or
// deltas), tool calls and usage.
#pragma once

#include "libs/codec/json_util.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::codec::internal {

enum class MessageStyle {
  kRequest,   // content omitted when unset (null only for assistant turns)
  kResponse,  // content always present, null when unset
  kDelta,     // only the fields present
};

void WriteMessage(JsonWriter& json, const sluice::v1::Message& message,
                  MessageStyle style);
void WriteUsage(JsonWriter& json, const sluice::v1::Usage& usage);

}  // namespace sluice::codec::internal
