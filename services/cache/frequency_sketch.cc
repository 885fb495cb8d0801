#include "services/cache/frequency_sketch.h"

#include <algorithm>
#include <bit>

namespace sluice::cache {
namespace {

constexpr uint64_t kSeeds[4] = {0xc3a5c85c97cb3127ULL, 0xb492b66fbe98f273ULL,
                                0x9ae16a3b2f90404fULL, 0xcbf29ce484222325ULL};
constexpr uint64_t kResetMask = 0x7777777777777777ULL;
constexpr uint64_t kOneMask = 0x1111111111111111ULL;
constexpr int64_t kMinEntries = 64;

}  // namespace

FrequencySketch::FrequencySketch(int64_t expected_entries) {
  Resize(expected_entries);
}

void FrequencySketch::EnsureCapacity(int64_t entries) {
  if (entries > capacity()) Resize(entries * 2);
}

void FrequencySketch::Resize(int64_t entries) {
  entries = std::max(entries, kMinEntries);
  table_.assign(std::bit_ceil(static_cast<uint64_t>(entries)), 0);
  mask_ = table_.size() - 1;
  sample_size_ = 10 * static_cast<int64_t>(table_.size());
  additions_ = 0;
}

size_t FrequencySketch::IndexOf(uint64_t hash, int depth) const {
  uint64_t h = (hash + kSeeds[depth]) * kSeeds[depth];
  h += h >> 32;
  return static_cast<size_t>(h & mask_);
}

void FrequencySketch::Increment(uint64_t hash) {
  // The key's four counters sit in the same quarter of four different words.
  const int start = static_cast<int>(hash & 3) << 2;
  bool added = false;
  for (int depth = 0; depth < 4; ++depth) {
    uint64_t& word = table_[IndexOf(hash, depth)];
    const int offset = (start + depth) << 2;
    const uint64_t mask = uint64_t{0xf} << offset;
    if ((word & mask) != mask) {
      word += uint64_t{1} << offset;
      added = true;
    }
  }
  if (added && ++additions_ >= sample_size_) Halve();
}

int FrequencySketch::Frequency(uint64_t hash) const {
  const int start = static_cast<int>(hash & 3) << 2;
  int frequency = 15;
  for (int depth = 0; depth < 4; ++depth) {
    const int offset = (start + depth) << 2;
    const int count =
        static_cast<int>((table_[IndexOf(hash, depth)] >> offset) & 0xf);
    frequency = std::min(frequency, count);
  }
  return frequency;
}

void FrequencySketch::Halve() {
  int64_t odd = 0;  // counters that lose their low bit (truncation error)
  for (uint64_t& word : table_) {
    odd += std::popcount(word & kOneMask);
    word = (word >> 1) & kResetMask;
  }
  additions_ = (additions_ - (odd >> 2)) >> 1;
}

}  // namespace sluice::cache
