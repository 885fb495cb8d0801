// Natural text repeats its words: each thread keeps the tokens of the
// words it merged last, in sets of two by hash (bounded, no locks, no
// allocation; a new word takes the slot of the set used less recently). A
// slot belongs to one tokenizer's words (an owner number, never reused),
// so tokenizers sharing a thread never read each other's words. 16,384
// words (1.7 MB a thread): with 4,096 direct-mapped ones, one word in ten
// of a 256 KB source file missed, and merging those was a quarter of the
// time.
//
// A word is looked up by its key: its bytes as four 64-bit words, zero past
// its end, read with a few overlapping loads. Comparing keys replaces a
// memcmp, and hashing four words a byte-by-byte string hash; a hit is about
// forty instructions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/strings/string_view.h"
#include "libs/tokenizer/token_sink.h"

namespace sluice::tokenizer {

// A word of 1 to 32 bytes as four words, zero past its end: equal keys of
// equal length are equal words.
struct WordKey {
  static constexpr size_t kMaxBytes = 32;

  uint64_t words[4];
  uint32_t length;

  static WordKey Of(absl::string_view word) {
    const char* p = word.data();
    const size_t n = word.size();
    WordKey key{{0, 0, 0, 0}, static_cast<uint32_t>(n)};
    if (n <= 8) {
      key.words[0] = Short(p, n);
      return key;
    }
    // Whole words, then the last 8 bytes shifted down to what is left
    // (written out: a loop here becomes a call to memcpy).
    const uint64_t last = Load64(p + n - 8) >> (8 * ((0 - n) & 7));
    key.words[0] = Load64(p);
    if (n <= 16) {
      key.words[1] = last;
    } else if (n <= 24) {
      key.words[1] = Load64(p + 8);
      key.words[2] = last;
    } else {
      key.words[1] = Load64(p + 8);
      key.words[2] = Load64(p + 16);
      key.words[3] = last;
    }
    return key;
  }

  uint64_t Hash() const {
    uint64_t h = words[0] * 0x9E3779B97F4A7C15ULL ^
                 words[1] * 0xC2B2AE3D27D4EB4FULL ^
                 words[2] * 0x165667B19E3779F9ULL ^
                 words[3] * 0xD6E8FEB86659FD93ULL ^ length;
    h ^= h >> 29;
    return h * 0xBF58476D1CE4E5B9ULL;
  }

  bool operator==(const WordKey& other) const {
    return length == other.length &&
           ((words[0] ^ other.words[0]) | (words[1] ^ other.words[1]) |
            (words[2] ^ other.words[2]) | (words[3] ^ other.words[3])) == 0;
  }

 private:
  static uint64_t Load64(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  static uint64_t Load32(const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  // Bytes [0, n) of p for n in [1, 8].
  static uint64_t Short(const char* p, size_t n) {
    if (n >= 4) return Load32(p) | Load32(p + n - 4) << (8 * (n - 4));
    const auto* b = reinterpret_cast<const uint8_t*>(p);
    return uint64_t{b[0]} | uint64_t{b[n / 2]} << (8 * (n / 2)) |
           uint64_t{b[n - 1]} << (8 * (n - 1));
  }
};

class WordCache {
 public:
  static constexpr size_t kMaxWord = WordKey::kMaxBytes;
  static constexpr size_t kMaxTokens = TokenSink::kBlock;

  // Appends the cached tokens of the word with this key to `out`; false on
  // a miss.
  bool Find(uint32_t owner, const WordKey& key, uint64_t hash, TokenSink& out) {
    Slot* set = &slots_[(hash >> kShift) * kWays];
    for (uint8_t way = 0; way < kWays; ++way) {
      const Slot& slot = set[way];
      if (slot.owner == owner && slot.key == key) {
        out.AppendBlock(slot.tokens, slot.count);
        set[0].recent = way;
        return true;
      }
    }
    return false;
  }

  void Store(uint32_t owner, const WordKey& key, uint64_t hash,
             const int32_t* tokens, size_t count) {
    if (count > kMaxTokens) return;
    Slot* set = &slots_[(hash >> kShift) * kWays];
    const uint8_t way = set[0].recent ^ 1;
    Slot& slot = set[way];
    slot.key = key;
    slot.owner = owner;
    slot.count = static_cast<uint8_t>(count);
    std::memcpy(slot.tokens, tokens, count * sizeof(int32_t));
    set[0].recent = way;
  }

  static WordCache& ForThisThread() {
    thread_local std::unique_ptr<WordCache> cache(new WordCache());
    return *cache;
  }

 private:
  static constexpr uint8_t kWays = 2;
  static constexpr int kSetBits = 13;
  static constexpr int kShift = 64 - kSetBits;
  struct Slot {
    WordKey key{{0, 0, 0, 0}, 0};
    uint32_t owner = 0;  // 0: empty
    uint8_t count = 0;
    uint8_t recent = 0;  // in a set's first slot: the way used last
    int32_t tokens[kMaxTokens] = {};  // all read by AppendBlock
  };
  Slot slots_[(size_t{1} << kSetBits) * kWays];
};

}  // namespace sluice::tokenizer
