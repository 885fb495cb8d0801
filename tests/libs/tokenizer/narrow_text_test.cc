#include "libs/tokenizer/narrow_text.h"

#include <string>

#include "gtest/gtest.h"
#include "libs/tokenizer/codepoints.h"

namespace sluice::tokenizer {
namespace {

TEST(NarrowTextTest, EachCharacterIsOneByteThatStandsForIt) {
  NarrowText narrow;
  // "a", U+00E9 (2 bytes), "b", U+20AC (3 bytes), U+00E9 again, U+1F600
  // (4 bytes), "c".
  const std::string text =
      "a\xC3\xA9"
      "b\xE2\x82\xAC\xC3\xA9\xF0\x9F\x98\x80"
      "c";
  ASSERT_TRUE(narrow.Assign(text));
  ASSERT_EQ(narrow.size(), 7u);
  const uint8_t* bytes = narrow.bytes();
  EXPECT_EQ(bytes[0], 'a');
  EXPECT_EQ(bytes[2], 'b');
  EXPECT_EQ(bytes[6], 'c');
  EXPECT_GE(bytes[1], 0x80);
  EXPECT_EQ(bytes[1], bytes[4]);  // the same character, the same byte
  EXPECT_EQ(narrow.high()[bytes[1] - 0x80], 0x00E9u);
  EXPECT_EQ(narrow.high()[bytes[3] - 0x80], 0x20ACu);
  EXPECT_EQ(narrow.high()[bytes[5] - 0x80], 0x1F600u);
  // Where each narrow position starts in the text, and the end.
  const size_t offsets[] = {0, 1, 3, 4, 7, 9, 13, 14};
  for (uint32_t pos = 0; pos <= 7; ++pos) {
    EXPECT_EQ(narrow.OffsetOf(pos), offsets[pos]) << pos;
  }
  narrow.Rewind();
  EXPECT_EQ(narrow.OffsetOf(4), 7u);
}

TEST(NarrowTextTest, TooManyDistinctCharactersAreRefused) {
  std::string text = "x";
  for (uint32_t cpt = 0x100; cpt < 0x100 + NarrowText::kMaxDistinct; ++cpt) {
    AppendUtf8(cpt, text);
    AppendUtf8(cpt, text);  // repeats cost nothing
  }
  NarrowText narrow;
  EXPECT_TRUE(narrow.Assign(text));
  AppendUtf8(0x100 + NarrowText::kMaxDistinct, text);
  EXPECT_FALSE(narrow.Assign(text));
  // A refused text leaves nothing behind for the next.
  ASSERT_TRUE(narrow.Assign("ok"));
  EXPECT_EQ(narrow.size(), 2u);
  EXPECT_EQ(narrow.OffsetOf(2), 2u);
}

}  // namespace
}  // namespace sluice::tokenizer
