// BPE merge ranks by token pair, in one flat open-addressed table of 8-byte
// slots: the pair and its rank packed into one word, so that a lookup is one
// multiply and, mostly, one cache line. What a merge makes is kept apart, by
// rank, since only a merge that happens needs it. In front of the table, a
// bitmap of eight bits per merge (a few hundred KB, which stays in L2) says
// "no merge" for most pairs that have none without touching the table.
// Merging a long word is lookups from end to end (a run of CJK text is one
// word of thousands of bytes), most of them for pairs that never merge, and
// a swiss table's two cache misses per lookup (control bytes, then the slot)
// were most of that time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace sluice::tokenizer {

class MergeTable {
 public:
  // Room for `merges` merges of token ids below `tokens`. UNIMPLEMENTED
  // when a pair and a rank do not fit one word (ids of more than 24 bits).
  absl::Status Init(size_t tokens, size_t merges);

  // Adds the merge of (left, right) with this rank, which makes `merged`.
  // A pair already there keeps its first merge, as llama.cpp's
  // bpe_ranks.emplace does.
  void Add(int32_t left, int32_t right, int32_t rank, int32_t merged);

  // The rank of the merge of (left, right), or -1 when there is none.
  int32_t Rank(int32_t left, int32_t right) const {
    const uint64_t key = Key(left, right);
    const uint64_t hash = Hash(key);
    const uint64_t bit = hash >> filter_shift_;
    if (((filter_[bit >> 6] >> (bit & 63)) & 1) == 0) return -1;
    for (size_t at = hash >> shift_;; at = (at + 1) & mask_) {
      const uint64_t slot = slots_[at];
      if (slot == kEmpty) return -1;
      if (slot >> rank_bits_ == key) {
        return static_cast<int32_t>(slot & rank_mask_);
      }
    }
  }

  // What the merge of this rank makes.
  int32_t Merged(int32_t rank) const {
    return merged_[static_cast<size_t>(rank)];
  }

  // Asks for the cache line of (left, right) ahead of its lookup.
  void Prefetch(int32_t left, int32_t right) const {
    __builtin_prefetch(&slots_[Hash(Key(left, right)) >> shift_]);
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  uint64_t Key(int32_t left, int32_t right) const {
    return uint64_t{static_cast<uint32_t>(left)} << id_bits_ |
           static_cast<uint32_t>(right);
  }
  static uint64_t Hash(uint64_t key) { return key * 0x9E3779B97F4A7C15ULL; }

  int id_bits_ = 0;
  int rank_bits_ = 0;
  uint64_t rank_mask_ = 0;
  int shift_ = 64;
  size_t mask_ = 0;
  int filter_shift_ = 64;
  std::vector<uint64_t> filter_;  // one bit per hash prefix
  std::vector<uint64_t> slots_;
  std::vector<int32_t> merged_;  // by rank; -1 for a rank not added
};

}  // namespace sluice::tokenizer
