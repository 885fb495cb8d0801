// Small RapidJSON helpers shared by the codec's readers and writers.
#pragma once

#include "absl/strings/string_view.h"
#include <string>
#include <string_view>

#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sluice::codec::internal {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

inline void Key(JsonWriter& json, absl::string_view key) {
  json.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

inline void String(JsonWriter& json, absl::string_view value) {
  json.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

inline void StringOrNull(JsonWriter& json, absl::string_view value) {
  if (value.empty()) {
    json.Null();
  } else {
    String(json, value);
  }
}

// Writes JSON text we produced or validated earlier, as it is.
inline void Raw(JsonWriter& json, absl::string_view text) {
  json.RawValue(text.data(), text.size(), rapidjson::kObjectType);
}

inline std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  JsonWriter json(buffer);
  value.Accept(json);
  return std::string(buffer.GetString(), buffer.GetSize());
}

inline absl::string_view View(const rapidjson::Value& value) {
  return absl::string_view(value.GetString(), value.GetStringLength());
}

}  // namespace sluice::codec::internal
