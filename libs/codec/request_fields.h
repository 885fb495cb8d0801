// The top-level fields of a client's request, one reader each: the fields
// we model (model, messages, sampling, tools, ...) and the pass-through
// fields OpenAI would check anyway (logprobs, ...).
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::codec::internal {

// Reads a modeled field's value into the request; errors name the field.
using FieldParser = absl::Status (*)(const rapidjson::Value&,
                                     sluice::v1::ChatRequest&);

// The reader of the modeled field `name`, or nullptr for any other field.
FieldParser FindFieldParser(absl::string_view name);

// Checks a field we do not model but OpenAI would check ("top_logprobs");
// OK for null and for fields we know nothing of.
absl::Status CheckExtraField(absl::string_view name,
                             const rapidjson::Value& value);

}  // namespace sluice::codec::internal
