// Small helpers for writing JSON with rapidjson::Writer.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sluice::sim {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

inline void WriteString(JsonWriter& writer, absl::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// The JSON text that `fill` writes.
template <typename Fill>
std::string ToJson(Fill&& fill) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  fill(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::sim
