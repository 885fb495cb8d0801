// SHA-256 (OpenSSL) as lower-case hex: API key hashes, cache keys.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace sluice::hash {

std::string Sha256Hex(absl::string_view bytes);

}  // namespace sluice::hash
