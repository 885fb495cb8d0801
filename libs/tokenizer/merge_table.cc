#include "libs/tokenizer/merge_table.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"

namespace sluice::tokenizer {

absl::Status MergeTable::Init(size_t tokens, size_t merges) {
  id_bits_ = std::bit_width(tokens);  // ids below 2^id_bits_ - 1
  rank_bits_ = 64 - 2 * id_bits_;
  if (id_bits_ > 24 || merges >= (size_t{1} << rank_bits_)) {
    return absl::UnimplementedError(absl::StrCat(
        tokens, " tokens and ", merges, " merges do not fit the merge table"));
  }
  rank_mask_ = (uint64_t{1} << rank_bits_) - 1;
  // At most half full: a miss (most lookups of short words) ends within a
  // probe or two.
  const size_t capacity = std::bit_ceil(merges * 2 + 16);
  shift_ = 64 - std::countr_zero(capacity);
  mask_ = capacity - 1;
  slots_.assign(capacity, kEmpty);
  const size_t filter_bits = std::max<size_t>(std::bit_ceil(merges * 8), 64);
  filter_shift_ = 64 - std::countr_zero(filter_bits);
  filter_.assign(filter_bits / 64, 0);
  merged_.assign(merges, -1);
  return absl::OkStatus();
}

void MergeTable::Add(int32_t left, int32_t right, int32_t rank,
                     int32_t merged) {
  const uint64_t key = Key(left, right);
  const uint64_t hash = Hash(key);
  size_t at = hash >> shift_;
  for (; slots_[at] != kEmpty; at = (at + 1) & mask_) {
    if (slots_[at] >> rank_bits_ == key) return;
  }
  slots_[at] = key << rank_bits_ | static_cast<uint64_t>(rank);
  const uint64_t bit = hash >> filter_shift_;
  filter_[bit >> 6] |= uint64_t{1} << (bit & 63);
  merged_[static_cast<size_t>(rank)] = merged;
}

}  // namespace sluice::tokenizer
