// One message of a client's request: its role, content (a string or
// content parts), name, tool call id, reasoning, refusal and earlier tool
// calls, checked the way OpenAI checks them.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "rapidjson/document.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::codec::internal {

// Reads `v` into `message`; `param` names it in errors ("messages[0]").
absl::Status ParseMessage(const rapidjson::Value& v, const std::string& param,
                          sluice::v1::Message& message);

}  // namespace sluice::codec::internal
