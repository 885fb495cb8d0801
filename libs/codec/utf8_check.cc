// IsValidUtf8 and FindInvalidUtf8: the request parser's encoding checks.
#include "libs/codec/utf8_check.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "libs/codec/json_util.h"

namespace sluice::codec::internal {

using rapidjson::Value;

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points beyond U+10FFFF.
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// Where the first string in `v` (a key or a value) that is not UTF-8 is:
// its path ("messages[0].content"; the parent's for a bad key), or nullopt.
std::optional<std::string> FindInvalidUtf8(const Value& v,
                                           const std::string& path) {
  if (v.IsString()) {
    if (!IsValidUtf8(View(v))) return path;
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if (auto bad = FindInvalidUtf8(v[i], absl::StrCat(path, "[", i, "]"))) {
        return bad;
      }
    }
  } else if (v.IsObject()) {
    for (const auto& member : v.GetObject()) {
      if (!IsValidUtf8(View(member.name))) return path;
      std::string child = path.empty()
                              ? std::string(View(member.name))
                              : absl::StrCat(path, ".", View(member.name));
      if (auto bad = FindInvalidUtf8(member.value, child)) return bad;
    }
  }
  return std::nullopt;
}

}  // namespace sluice::codec::internal
