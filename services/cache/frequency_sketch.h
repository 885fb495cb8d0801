// TinyLFU's popularity estimate: a count-min sketch of 4-bit counters (four
// per key, sixteen to a 64-bit word), as in Caffeine. Aging keeps it recent:
// after 10 x capacity increments every counter is halved, so keys that were
// popular long ago fade. Frequencies saturate at 15.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::cache {

class FrequencySketch {
 public:
  // Sized for `expected_entries` keys (at least a few dozen).
  explicit FrequencySketch(int64_t expected_entries);

  // Grows the table (starting it afresh) when `entries` keys no longer fit
  // the current size; a no-op otherwise. Growth doubles, so it is rare.
  void EnsureCapacity(int64_t entries);

  void Increment(uint64_t hash);
  int Frequency(uint64_t hash) const;  // 0..15

  int64_t capacity() const { return static_cast<int64_t>(table_.size()); }

 private:
  void Resize(int64_t entries);
  size_t IndexOf(uint64_t hash, int depth) const;
  void Halve();

  std::vector<uint64_t> table_;
  uint64_t mask_ = 0;
  int64_t sample_size_ = 0;
  int64_t additions_ = 0;
};

}  // namespace sluice::cache
