#include "services/cache/answer_codec.h"

#include <zstd.h>

namespace sluice::cache {
namespace {

constexpr char kRaw = 'r';
constexpr char kZstd = 'z';
constexpr size_t kCompressFrom = 512;
// Level 1: most of the ratio at a fraction of the time of higher levels.
constexpr int kZstdLevel = 1;
// Refuse to inflate beyond this (a corrupt or hostile frame header).
constexpr unsigned long long kMaxDecoded = 64ull << 20;

}  // namespace

std::string EncodeAnswer(const sluice::v1::CachedAnswer& answer) {
  std::string raw = answer.SerializeAsString();
  if (raw.size() >= kCompressFrom) {
    std::string out(1 + ZSTD_compressBound(raw.size()), '\0');
    out[0] = kZstd;
    size_t n = ZSTD_compress(out.data() + 1, out.size() - 1, raw.data(),
                             raw.size(), kZstdLevel);
    if (!ZSTD_isError(n) && n <= raw.size() - raw.size() / 10) {
      out.resize(1 + n);
      return out;
    }
  }
  raw.insert(raw.begin(), kRaw);
  return raw;
}

absl::StatusOr<sluice::v1::CachedAnswer> DecodeAnswer(absl::string_view bytes) {
  sluice::v1::CachedAnswer answer;
  if (bytes.empty()) return absl::DataLossError("empty cache entry");
  absl::string_view body = bytes.substr(1);
  if (bytes[0] == kRaw) {
    if (answer.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return answer;
    }
    return absl::DataLossError("corrupt cache entry");
  }
  if (bytes[0] != kZstd) return absl::DataLossError("unknown cache entry format");
  unsigned long long size = ZSTD_getFrameContentSize(body.data(), body.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
      size > kMaxDecoded) {
    return absl::DataLossError("corrupt compressed cache entry");
  }
  std::string raw(size, '\0');
  size_t n = ZSTD_decompress(raw.data(), raw.size(), body.data(), body.size());
  if (ZSTD_isError(n) || n != size ||
      !answer.ParseFromString(raw)) {
    return absl::DataLossError("corrupt compressed cache entry");
  }
  return answer;
}

}  // namespace sluice::cache
