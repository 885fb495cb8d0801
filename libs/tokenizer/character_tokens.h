// The characters whose bytes a word can start from as one token, exactly.
//
// Merging a run of CJK text byte by byte spends nine merges in ten joining
// the bytes of each character (two per character), each a heap pop and two
// lookups. Take a character c whose bytes, merged alone, become one token t
// through merges of rising ranks ρ1 < ρ2 < ... < R. Starting the word from
// t gives the same tokens as starting from c's bytes when:
//  (i)  each piece at c's left edge while c merges (its first byte, then
//       what that byte became) is an operand on the right of no merge
//       ranked below the merge that consumes it inside c, and the same for
//       the pieces at c's right edge as left operands: a merge joining a
//       piece of c with a neighbour would need that piece still there when
//       its rank comes, and by then c's own merge (lower, and whose
//       operands were made by lower merges still) took it; so c's bytes
//       merge exactly as they do alone, in the same order;
//  (ii) every merge that takes t as an operand ranks above R: then nothing
//       could have merged with t before c became t, and a pair (t, x)
//       available early never ranks below a merge still pending inside c.
// Byte-level BPE is lowest rank first (leftmost on a tie), so under (i) and
// (ii) the merges outside c happen in the same order in both runs (tested
// against llama.cpp, on text made of the vocabulary's own tokens too).
#pragma once

#include <cstdint>
#include <vector>

#include "libs/tokenizer/merge_table.h"

namespace sluice::tokenizer {

class CharacterTokens {
 public:
  // `byte_tokens`: each byte's token (negative: none); by token id, the
  // lowest rank of a merge taking it as its left operand (`min_left_rank`)
  // and as its right one (`min_right_rank`), INT32_MAX for none.
  void Build(const int32_t (&byte_tokens)[256], const MergeTable& merges,
             const std::vector<int32_t>& min_left_rank,
             const std::vector<int32_t>& min_right_rank);

  // The token a character of two or three bytes (below U+10000) starts as,
  // or -1 for one that starts as its bytes.
  int32_t For(uint32_t cpt) const {
    return cpt < tokens_.size() ? tokens_[cpt] : -1;
  }

 private:
  std::vector<int32_t> tokens_;  // by codepoint
};

}  // namespace sluice::tokenizer
