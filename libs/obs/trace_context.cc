// traceparent parsing and formatting, ids from a RandomSource.
#include "libs/obs/trace_context.h"

#include <algorithm>
#include <random>

#include "absl/status/status.h"

namespace sluice::obs {
namespace {

constexpr char kHex[] = "0123456789abcdef";

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& bytes) {
  std::string out;
  out.reserve(N * 2);
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid in traceparent
}

template <size_t N>
bool ParseHex(absl::string_view text, std::array<uint8_t, N>& out) {
  if (text.size() != N * 2) return false;
  bool all_zero = true;
  for (size_t i = 0; i < N; ++i) {
    int hi = HexDigit(text[2 * i]), lo = HexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
    all_zero &= out[i] == 0;
  }
  return N == 1 || !all_zero;
}

// Random bytes, never all zero (an all-zero id is invalid): a source that
// answers zero, as a test fake may, gets a last byte of 1 instead of a loop.
template <size_t N>
void Fill(std::array<uint8_t, N>& bytes, RandomSource& random) {
  for (size_t i = 0; i < N; i += 8) {
    uint64_t r = random.Next();
    for (size_t j = 0; j < 8 && i + j < N; ++j) {
      bytes[i + j] = static_cast<uint8_t>(r >> (8 * (7 - j)));
    }
  }
  if (std::all_of(bytes.begin(), bytes.end(),
                  [](uint8_t b) { return b == 0; })) {
    bytes[N - 1] = 1;
  }
}

}  // namespace

DefaultRandomSource::DefaultRandomSource() {
  std::random_device device;
  state_ = (static_cast<uint64_t>(device()) << 32) ^ device();
}

uint64_t DefaultRandomSource::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

RandomSource& ThreadLocalRandom() {
  thread_local DefaultRandomSource random;
  return random;
}

std::string TraceContext::TraceIdHex() const { return Hex(trace_id); }
std::string TraceContext::SpanIdHex() const { return Hex(span_id); }

absl::StatusOr<TraceContext> ParseTraceparent(absl::string_view header) {
  auto invalid = [] {
    return absl::InvalidArgumentError("invalid traceparent");
  };
  if (header.size() < 55) return invalid();
  std::array<uint8_t, 1> version{};
  if (!ParseHex(header.substr(0, 2), version) || version[0] == 0xff) {
    return invalid();
  }
  if (version[0] == 0 && header.size() != 55) return invalid();
  if (header.size() > 55 && header[55] != '-') return invalid();
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') {
    return invalid();
  }
  TraceContext context;
  std::array<uint8_t, 1> flags{};
  if (!ParseHex(header.substr(3, 32), context.trace_id) ||
      !ParseHex(header.substr(36, 16), context.span_id) ||
      !ParseHex(header.substr(53, 2), flags)) {
    return invalid();
  }
  context.flags = flags[0];
  return context;
}

std::string FormatTraceparent(const TraceContext& context) {
  std::string out = "00-";
  out += context.TraceIdHex();
  out += '-';
  out += context.SpanIdHex();
  out += '-';
  out.push_back(kHex[context.flags >> 4]);
  out.push_back(kHex[context.flags & 15]);
  return out;
}

TraceContext NewRootTrace(RandomSource& random) {
  TraceContext context;
  Fill(context.trace_id, random);
  Fill(context.span_id, random);
  return context;
}

TraceContext ChildSpan(const TraceContext& parent, RandomSource& random) {
  TraceContext child = parent;
  Fill(child.span_id, random);
  return child;
}

std::string NewRequestId(RandomSource& random, absl::Time now) {
  // 11 hex digits of Unix milliseconds (44 bits: good until the year 2527)
  // and 13 of randomness (52 bits).
  const uint64_t millis = static_cast<uint64_t>(absl::ToUnixMillis(now)) &
                          ((uint64_t{1} << 44) - 1);
  const uint64_t noise = random.Next() & ((uint64_t{1} << 52) - 1);
  std::string id = "req_";
  id.resize(4 + 24);
  for (int i = 0; i < 11; ++i) {
    id[4 + i] = kHex[(millis >> (4 * (10 - i))) & 15];
  }
  for (int i = 0; i < 13; ++i) {
    id[15 + i] = kHex[(noise >> (4 * (12 - i))) & 15];
  }
  return id;
}

}  // namespace sluice::obs
