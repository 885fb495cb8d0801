// How a cached answer is stored: the CachedAnswer proto, zstd-compressed
// when that pays (answers over 512 bytes that shrink by a tenth or more),
// behind a one-byte header saying which.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sluice/v1/cache.pb.h"

namespace sluice::cache {

std::string EncodeAnswer(const sluice::v1::CachedAnswer& answer);
// DATA_LOSS for bytes EncodeAnswer did not write.
absl::StatusOr<sluice::v1::CachedAnswer> DecodeAnswer(absl::string_view bytes);

}  // namespace sluice::cache
