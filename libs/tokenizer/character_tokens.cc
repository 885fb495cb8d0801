#include "libs/tokenizer/character_tokens.h"

#include <climits>

namespace sluice::tokenizer {
namespace {

// The bytes of codepoint `cpt` (two or three of them) into `out`.
int EncodeBelow10000(uint32_t cpt, uint8_t (&out)[3]) {
  if (cpt < 0x800) {
    out[0] = static_cast<uint8_t>(0xC0 | (cpt >> 6));
    out[1] = static_cast<uint8_t>(0x80 | (cpt & 0x3F));
    return 2;
  }
  out[0] = static_cast<uint8_t>(0xE0 | (cpt >> 12));
  out[1] = static_cast<uint8_t>(0x80 | ((cpt >> 6) & 0x3F));
  out[2] = static_cast<uint8_t>(0x80 | (cpt & 0x3F));
  return 3;
}

}  // namespace

void CharacterTokens::Build(const int32_t (&byte_tokens)[256],
                            const MergeTable& merges,
                            const std::vector<int32_t>& min_left_rank,
                            const std::vector<int32_t>& min_right_rank) {
  auto least = [](const std::vector<int32_t>& ranks, int32_t id) {
    return ranks[static_cast<size_t>(id)];
  };
  tokens_.assign(0x10000, -1);
  for (uint32_t cpt = 0x80; cpt < 0x10000; ++cpt) {
    uint8_t bytes[3];
    const int size = EncodeBelow10000(cpt, bytes);
    int32_t ids[3];
    bool whole = true;
    for (int i = 0; i < size; ++i) {
      ids[i] = byte_tokens[bytes[i]];
      whole = whole && ids[i] >= 0;
    }
    // The bytes merged alone, lowest rank first, checking (i) as the edge
    // pieces are consumed and that the ranks rise.
    int count = size;
    int32_t last = -1;
    while (whole && count > 1) {
      int best = -1;
      int32_t rank = INT32_MAX;
      for (int i = 0; i + 1 < count; ++i) {
        const int32_t r = merges.Rank(ids[i], ids[i + 1]);
        if (r >= 0 && r < rank) {
          rank = r;
          best = i;
        }
      }
      if (best < 0 || rank <= last) {
        whole = false;
        break;
      }
      if (best == 0 && least(min_right_rank, ids[0]) < rank) whole = false;
      if (best + 2 == count && least(min_left_rank, ids[best + 1]) < rank) {
        whole = false;
      }
      ids[best] = merges.Merged(rank);
      for (int i = best + 1; i + 1 < count; ++i) ids[i] = ids[i + 1];
      --count;
      last = rank;
    }
    // (ii), for the token c became.
    if (!whole || count != 1 || least(min_left_rank, ids[0]) <= last ||
        least(min_right_rank, ids[0]) <= last) {
      continue;
    }
    tokens_[cpt] = ids[0];
  }
}

}  // namespace sluice::tokenizer
