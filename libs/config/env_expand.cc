// ${VAR} and ${VAR:-default} expansion (see env_expand.h).
#include "libs/config/env_expand.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace sluice::config {

absl::StatusOr<std::string> ExpandEnv(absl::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = text.find("${", i);
    if (start == absl::string_view::npos) {
      absl::StrAppend(&out, text.substr(i));
      break;
    }
    absl::StrAppend(&out, text.substr(i, start - i));
    size_t end = text.find('}', start);
    if (end == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("unclosed \"${\" in \"", text, "\""));
    }
    absl::string_view inner = text.substr(start + 2, end - start - 2);
    absl::string_view name = inner;
    absl::string_view fallback;
    bool has_default = false;
    if (size_t sep = inner.find(":-"); sep != absl::string_view::npos) {
      name = inner.substr(0, sep);
      fallback = inner.substr(sep + 2);
      has_default = true;
    }
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("empty variable name in \"", text, "\""));
    }
    const char* value = std::getenv(std::string(name).c_str());
    if (has_default && (value == nullptr || *value == '\0')) {
      absl::StrAppend(&out, fallback);
    } else if (value != nullptr) {
      absl::StrAppend(&out, value);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", name, " is not set"));
    }
    i = end + 1;
  }
  return out;
}

}  // namespace sluice::config
