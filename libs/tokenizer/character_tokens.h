// The characters whose bytes a word can start from as one token, exactly.
//
// Merging a run of CJK text byte by byte spends nine merges in ten joining
// the bytes of each character (two per character), each a heap pop and two
// lookups. Take a character c whose bytes, merged alone, become one token t
// through merges of rising ranks ρ1 < ρ2 < ... < R: its pieces (the bytes,
// what they become) each live from the merge that makes them to the one
// that consumes them. Starting the word from t gives the same tokens as
// starting from c's bytes when:
//  (i)  no piece of c ever merges with a neighbour. A merge (x, p) joining
//       a piece p at c's edge with its neighbour x would need p still there
//       when its rank comes; c's own merge consuming p ranks lower, and the
//       merges that make its other operand lower still, so a merge (x, p)
//       ranked above the merge consuming p never happens. Checked against
//       every token x ("free" edges) or, between two such characters side
//       by side, against the other's pieces and token: a merge of their
//       pieces must rank above the consumption of one of them, and a piece
//       must be free or consumed before the first merge that takes the
//       neighbour's token as an operand on its side (which makes the first
//       longer token that could take the piece).
//       Then c's bytes merge exactly as they do alone, in the same order;
//  (ii) every merge that takes t as an operand ranks above R: then nothing
//       could have merged with t before c became t, and a pair (t, x)
//       available early never ranks below a merge still pending inside c.
// Byte-level BPE is lowest rank first (leftmost on a tie), so under (i) and
// (ii) the merges outside c happen in the same order in both runs (tested
// against llama.cpp, on text made of the vocabulary's own tokens too: a
// check left out there fails that test on every vocabulary).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
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

  // The first symbols of `word` (canonical UTF-8) into `ids` (room for
  // word.size()): each byte's token, or one token for each character that
  // can start whole here. Returns how many.
  int Symbols(absl::string_view word, const int32_t (&byte_tokens)[256],
              const MergeTable& merges, int32_t* ids) const;

 private:
  // A piece at one edge of a character while it merges alone.
  struct Piece {
    int32_t token;
    int32_t until;  // the rank of the merge that consumes it
    bool free;      // no merge with a neighbour ranks below `until`
  };
  struct Character {
    int32_t token;  // what the character becomes
    // The lowest rank of a merge taking it as its left (right) operand.
    int32_t first_as_left;
    int32_t first_as_right;
    uint8_t lefts = 0;
    uint8_t rights = 0;
    bool left_free = true;
    bool right_free = true;
    Piece left[2];
    Piece right[2];
  };

  // Whether characters b and c, side by side and both starting whole,
  // never merge a piece of one with the other (the pairwise check of (i)).
  static bool Apart(const Character& b, const Character& c,
                    const MergeTable& merges);

  std::vector<int32_t> index_;  // by codepoint below U+10000, or -1
  std::vector<Character> characters_;
};

}  // namespace sluice::tokenizer
