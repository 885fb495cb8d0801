// Small RapidJSON helpers shared by the codec's readers and writers.
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sluice::codec::internal {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Parse flags for untrusted input: the iterative parser cannot overflow the
// stack however deep the nesting.
constexpr unsigned kUntrustedParseFlags = rapidjson::kParseIterativeFlag;

// Deepest nesting we accept: copying and writing values recurse.
constexpr int kMaxJsonDepth = 64;

// The offset of the first byte nested deeper than `max_depth`, or npos. A
// cheap scan that skips strings, run before parsing untrusted bodies.
inline size_t FindTooDeep(absl::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return i;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return absl::string_view::npos;
}

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

// The string member `name` of `object`; empty when absent or not a string.
inline absl::string_view StringMember(const rapidjson::Value& object,
                                      const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return View(it->value);
}

}  // namespace sluice::codec::internal
