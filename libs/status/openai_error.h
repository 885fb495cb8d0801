// OpenAI's error body: {"error":{"message","type","param","code"}}.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::status {

std::string OpenAIErrorJson(const sluice::v1::Error& error);
int HttpStatusOf(const absl::Status& status);

}  // namespace sluice::status
