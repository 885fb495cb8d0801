// UTF-8 validation of a parsed request. RapidJSON turns a lone "\udc00"
// escape into invalid UTF-8, so every string is checked after parsing, not
// only the raw bytes.
#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "rapidjson/document.h"

namespace sluice::codec::internal {

// Well-formed UTF-8: no overlong forms, surrogates or code points beyond
// U+10FFFF.
bool IsValidUtf8(absl::string_view s);

// Where the first string in `v` (a key or a value) that is not UTF-8 is:
// its path ("messages[0].content"; the parent's for a bad key), or nullopt.
std::optional<std::string> FindInvalidUtf8(const rapidjson::Value& v,
                                           const std::string& path);

}  // namespace sluice::codec::internal
