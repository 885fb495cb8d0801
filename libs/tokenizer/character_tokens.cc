#include "libs/tokenizer/character_tokens.h"

#include <algorithm>
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
  index_.assign(0x10000, -1);
  characters_.clear();
  for (uint32_t cpt = 0x80; cpt < 0x10000; ++cpt) {
    uint8_t bytes[3];
    const int size = EncodeBelow10000(cpt, bytes);
    int32_t ids[3];
    bool whole = true;
    for (int i = 0; i < size; ++i) {
      ids[i] = byte_tokens[bytes[i]];
      whole = whole && ids[i] >= 0;
    }
    // The bytes merged alone, lowest rank first, noting the pieces at the
    // edges as they are consumed and that the ranks rise.
    Character character{};
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
      if (best == 0) {
        const bool free = least(min_right_rank, ids[0]) > rank;
        character.left[character.lefts++] = Piece{ids[0], rank, free};
        character.left_free = character.left_free && free;
      }
      if (best + 2 == count) {
        const int32_t id = ids[best + 1];
        const bool free = least(min_left_rank, id) > rank;
        character.right[character.rights++] = Piece{id, rank, free};
        character.right_free = character.right_free && free;
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
    character.token = ids[0];
    character.first_as_left = least(min_left_rank, ids[0]);
    character.first_as_right = least(min_right_rank, ids[0]);
    index_[cpt] = static_cast<int32_t>(characters_.size());
    characters_.push_back(character);
  }
}

bool CharacterTokens::Apart(const Character& b, const Character& c,
                            const MergeTable& merges) {
  auto merges_below = [&](int32_t left, int32_t right, int32_t until) {
    const int32_t rank = merges.Rank(left, right);
    return rank >= 0 && rank < until;
  };
  for (int i = 0; i < b.rights; ++i) {
    const Piece& s = b.right[i];
    // With c's pieces and c's token.
    for (int j = 0; j < c.lefts; ++j) {
      if (merges_below(s.token, c.left[j].token,
                       std::min(s.until, c.left[j].until))) {
        return false;
      }
    }
    if (merges_below(s.token, c.token, s.until)) return false;
    // With a longer token that starts with c's, which a merge taking c's
    // token as its left operand makes first.
    if (!s.free && s.until > c.first_as_left) return false;
  }
  for (int j = 0; j < c.lefts; ++j) {
    const Piece& p = c.left[j];
    if (merges_below(b.token, p.token, p.until)) return false;
    if (!p.free && p.until > b.first_as_right) return false;
  }
  return true;
}

int CharacterTokens::Symbols(absl::string_view word,
                             const int32_t (&byte_tokens)[256],
                             const MergeTable& merges, int32_t* ids) const {
  // The word as units: a character that may start whole (its index into
  // characters_), or a byte of anything else (-1).
  struct Unit {
    int32_t character;
    uint32_t at;  // its first byte
    bool whole;   // starts whole: still possible, then decided
  };
  const auto* bytes = reinterpret_cast<const uint8_t*>(word.data());
  const size_t size = word.size();
  // A word with no character of two or three bytes is its bytes.
  if (std::none_of(bytes, bytes + size,
                   [](uint8_t byte) { return byte >= 0xC0 && byte < 0xF0; })) {
    for (size_t at = 0; at < size; ++at) ids[at] = byte_tokens[bytes[at]];
    return static_cast<int>(size);
  }
  thread_local std::vector<Unit> units;
  thread_local std::vector<uint32_t> work;
  units.clear();
  bool any = false;
  for (size_t at = 0; at < size;) {
    const uint8_t lead = bytes[at];
    if (lead >= 0xC0 && lead < 0xF0) {
      const size_t length = lead < 0xE0 ? 2 : 3;
      if (at + length <= size) {
        uint32_t cpt = lead & (length == 2 ? 0x1F : 0x0F);
        for (size_t i = 1; i < length; ++i) {
          cpt = cpt << 6 | (bytes[at + i] & 0x3F);
        }
        const int32_t character = index_[cpt];
        if (character >= 0) {
          units.push_back({character, static_cast<uint32_t>(at), true});
          at += length;
          any = true;
          continue;
        }
      }
    }
    units.push_back({-1, static_cast<uint32_t>(at), false});
    ++at;
  }
  if (any) {
    // The largest set of characters whose every edge is free, at the
    // word's end, or beside one of the set it stays apart from: drop those
    // that fail until none does (each dropped one rechecks its neighbours).
    const size_t n = units.size();
    auto stays = [&](size_t u) {
      const Character& c = characters_[static_cast<size_t>(units[u].character)];
      const bool left =
          u == 0 || c.left_free ||
          (units[u - 1].whole &&
           Apart(characters_[static_cast<size_t>(units[u - 1].character)], c,
                 merges));
      return left &&
             (u + 1 == n || c.right_free ||
              (units[u + 1].whole &&
               Apart(c, characters_[static_cast<size_t>(units[u + 1].character)],
                     merges)));
    };
    work.clear();
    for (size_t u = n; u-- > 0;) {
      if (units[u].whole) work.push_back(static_cast<uint32_t>(u));
    }
    while (!work.empty()) {
      const size_t u = work.back();
      work.pop_back();
      if (!units[u].whole || stays(u)) continue;
      units[u].whole = false;
      if (u > 0 && units[u - 1].whole) work.push_back(static_cast<uint32_t>(u - 1));
      if (u + 1 < n && units[u + 1].whole) {
        work.push_back(static_cast<uint32_t>(u + 1));
      }
    }
  }
  int count = 0;
  for (size_t u = 0; u < units.size(); ++u) {
    const Unit& unit = units[u];
    if (unit.whole) {
      ids[count++] = characters_[static_cast<size_t>(unit.character)].token;
      continue;
    }
    // Its bytes: up to the next unit.
    const size_t end = u + 1 < units.size() ? units[u + 1].at : size;
    for (size_t at = unit.at; at < end; ++at) ids[count++] = byte_tokens[bytes[at]];
  }
  return count;
}

}  // namespace sluice::tokenizer
