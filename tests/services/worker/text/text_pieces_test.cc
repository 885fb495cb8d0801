// The worker's streamed-text pieces: Utf8Joiner, StopMatcher and
// ReasoningSplitter, each fed whole, byte by byte and in random splits.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "services/worker/text/reasoning_splitter.h"
#include "services/worker/text/stop_matcher.h"
#include "services/worker/text/utf8_joiner.h"

namespace sluice::worker {
namespace {

constexpr char kFffd[] = "\xEF\xBF\xBD";

// A strict UTF-8 check, written apart from Utf8Joiner's.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    size_t n;
    if (b < 0x80) {
      cp = b;
      n = 1;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1F;
      n = 2;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0F;
      n = 3;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07;
      n = 4;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const uint8_t c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

// Cuts `text` into pieces at random places (including empty pieces).
std::vector<std::string> RandomSplit(absl::string_view text,
                                     std::mt19937& rng) {
  std::vector<std::string> pieces;
  size_t at = 0;
  while (at < text.size()) {
    const size_t n = std::uniform_int_distribution<size_t>(0, 5)(rng);
    pieces.emplace_back(text.substr(at, n));
    at += pieces.back().size();
  }
  return pieces;
}

std::vector<std::string> Bytes(absl::string_view text) {
  std::vector<std::string> pieces;
  for (char c : text) pieces.emplace_back(1, c);
  return pieces;
}

// ---------------------------------------------------------------- Utf8Joiner

// Feeds the pieces, checks each output is valid UTF-8, returns them joined
// with the flush.
std::string Join(const std::vector<std::string>& pieces) {
  Utf8Joiner joiner;
  std::string out;
  for (const std::string& piece : pieces) {
    const std::string emitted = joiner.Add(piece);
    EXPECT_TRUE(IsValidUtf8(emitted)) << absl::CEscape(emitted);
    EXPECT_LE(joiner.held_size(), 3u);
    out += emitted;
  }
  const std::string flushed = joiner.Flush();
  EXPECT_TRUE(IsValidUtf8(flushed));
  EXPECT_EQ(joiner.held_size(), 0u);
  return out + flushed;
}

TEST(Utf8JoinerTest, EachCharacterWaitsForItsLastByte) {
  for (absl::string_view c : {"\xC3\xA9",             // é, 2 bytes
                              "\xE2\x82\xAC",         // €, 3 bytes
                              "\xE4\xB8\xAD",         // 中, 3 bytes
                              "\xF0\x9D\x84\x9E",     // 𝄞, 4 bytes
                              "\xF0\x9F\x98\x80"}) {  // 😀, 4 bytes
    Utf8Joiner joiner;
    for (size_t i = 0; i + 1 < c.size(); ++i) {
      EXPECT_EQ(joiner.Add(c.substr(i, 1)), "") << absl::CEscape(c);
      EXPECT_EQ(joiner.held_size(), i + 1);
    }
    EXPECT_EQ(joiner.Add(c.substr(c.size() - 1)), c);
    EXPECT_EQ(joiner.Flush(), "");
  }
}

TEST(Utf8JoinerTest, SplitAtEveryPairOfByteBoundaries) {
  // ASCII, 2-, 3- and 4-byte characters and a ZWJ emoji sequence.
  const std::string text =
      "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80 "
      "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB\xE4\xB8\xAD\xF0\x9D\x84\x9E"
      "z";
  ASSERT_TRUE(IsValidUtf8(text));
  for (size_t i = 0; i <= text.size(); ++i) {
    for (size_t j = i; j <= text.size(); ++j) {
      EXPECT_EQ(
          Join({text.substr(0, i), text.substr(i, j - i), text.substr(j)}),
          text)
          << i << "," << j;
    }
  }
  EXPECT_EQ(Join(Bytes(text)), text);
}

TEST(Utf8JoinerTest, EmitsTheLongestCompletePrefix) {
  Utf8Joiner joiner;
  EXPECT_EQ(joiner.Add("ab\xF0\x9F"), "ab");
  EXPECT_EQ(joiner.Add("\x98"), "");
  EXPECT_EQ(joiner.Add("\x80\xC3"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(joiner.Add("\xA9!"), "\xC3\xA9!");
}

TEST(Utf8JoinerTest, ReplacesInvalidBytes) {
  const std::string r = kFffd;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\xFF"
       "b",
       "a" + r + "b"},
      {"\x80", r},                          // Stray continuation byte.
      {"\xC3(", r + "("},                   // Lead without continuation.
      {"\xC0\xAF", r + r},                  // Overlong '/'.
      {"\xE0\x80\xAF", r + r + r},          // Overlong, 3 bytes.
      {"\xED\xA0\x80", r + r + r},          // Surrogate U+D800.
      {"\xF4\x90\x80\x80", r + r + r + r},  // Above U+10FFFF.
      {"\xF5\x80", r + r},
      {"\xE2\x82(", r + "("},  // Truncated in the middle.
      {"\xF0\x9F\x98"
       "a\xC3\xA9",
       r + "a\xC3\xA9"},
      {"x\xE2\x82\xAC\xFE\xE2\x82\xAC", "x\xE2\x82\xAC" + r + "\xE2\x82\xAC"},
  };
  for (const auto& [in, want] : cases) {
    EXPECT_EQ(Join({in}), want) << absl::CEscape(in);
    EXPECT_EQ(Join(Bytes(in)), want) << absl::CEscape(in);
  }
}

TEST(Utf8JoinerTest, FlushReplacesAnIncompleteTail) {
  Utf8Joiner joiner;
  EXPECT_EQ(joiner.Add("ok\xE2\x82"), "ok");
  EXPECT_EQ(joiner.held_size(), 2u);
  EXPECT_EQ(joiner.Flush(), kFffd);
  EXPECT_EQ(joiner.Flush(), "");
  EXPECT_EQ(joiner.Add("\xF0"), "");
  EXPECT_EQ(joiner.Flush(), kFffd);
  EXPECT_EQ(joiner.Add("fine"), "fine");
}

TEST(Utf8JoinerTest, RandomBytesInRandomSplitsMatchWholeFeed) {
  std::mt19937 rng(20240611);
  const std::vector<uint8_t> interesting = {'a',  ' ',  0x80, 0x8F, 0x9F, 0xA0,
                                            0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE2,
                                            0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int n = std::uniform_int_distribution<int>(0, 24)(rng);
    for (int k = 0; k < n; ++k) {
      text.push_back(
          static_cast<char>(interesting[std::uniform_int_distribution<size_t>(
              0, interesting.size() - 1)(rng)]));
    }
    const std::string whole = Join({text});
    EXPECT_TRUE(IsValidUtf8(whole));
    EXPECT_EQ(Join(RandomSplit(text, rng)), whole) << absl::CEscape(text);
    if (IsValidUtf8(text)) {
      EXPECT_EQ(whole, text);
    }
  }
}

// --------------------------------------------------------------- StopMatcher

struct StopRun {
  std::string text;
  bool stopped = false;
};

// Feeds the pieces, checking a stopped matcher stays stopped, then flushes.
StopRun Stream(const std::vector<std::string>& stops,
               const std::vector<std::string>& pieces) {
  StopMatcher matcher(stops);
  StopRun run;
  for (const std::string& piece : pieces) {
    StopMatcher::Result result = matcher.Add(piece);
    if (run.stopped) {
      EXPECT_TRUE(result.stopped);
      EXPECT_EQ(result.emit, "");
    }
    run.text += result.emit;
    run.stopped = result.stopped;
  }
  const std::string flushed = matcher.Flush();
  if (run.stopped) {
    EXPECT_EQ(flushed, "");
  }
  run.text += flushed;
  run.stopped = matcher.stopped();  // Flush may find a stop that waited.
  return run;
}

// The reference: the earliest occurrence of any stop in the whole text.
StopRun Reference(const std::vector<std::string>& stops,
                  absl::string_view text) {
  size_t best = absl::string_view::npos;
  for (const std::string& stop : stops) {
    if (stop.empty()) continue;
    best = std::min(best, text.find(stop));
  }
  if (best == absl::string_view::npos) return {std::string(text), false};
  return {std::string(text.substr(0, best)), true};
}

void ExpectSameAsReference(const std::vector<std::string>& stops,
                           const std::string& text,
                           const std::vector<std::string>& pieces) {
  const StopRun want = Reference(stops, text);
  const StopRun got = Stream(stops, pieces);
  EXPECT_EQ(got.text, want.text)
      << absl::CEscape(text)
      << " stops: " << absl::CEscape(absl::StrJoin(stops, "|"));
  EXPECT_EQ(got.stopped, want.stopped) << absl::CEscape(text);
}

TEST(StopMatcherTest, StopAcrossOneCharacterPieces) {
  const std::vector<std::string> stops = {"\n\nUser:", "Observation:"};
  for (const std::string text :
       {"Thought: look it up\nObservation: 42", "Hi!\n\nUser: more",
        "\n\nUse\n\nUser:", "ObservationObservation:", "no stop here\n\n",
        "Observation"}) {
    ExpectSameAsReference(stops, text, Bytes(text));
  }
}

TEST(StopMatcherTest, HoldsOnlyAPossibleStopPrefix) {
  StopMatcher matcher({"\n\nUser:"});
  EXPECT_EQ(matcher.Add("hello\n").emit, "hello");
  EXPECT_EQ(matcher.Add("\nUs").emit, "");
  StopMatcher::Result result = matcher.Add("ed");
  EXPECT_EQ(result.emit, "\n\nUsed");
  EXPECT_FALSE(result.stopped);
  EXPECT_EQ(matcher.Add("x\n\nUser:y").emit, "x");
  EXPECT_TRUE(matcher.stopped());
  EXPECT_EQ(matcher.matched_stop(), "\n\nUser:");
  result = matcher.Add("more");
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.emit, "");
  EXPECT_EQ(matcher.Flush(), "");
}

TEST(StopMatcherTest, StopThatIsAPrefixOfAnother) {
  // Earliest start wins; at the same start, the longest stop.
  StopMatcher both({"ab", "abc"});
  EXPECT_EQ(both.Add("xxabcd").emit, "xx");
  EXPECT_EQ(both.matched_stop(), "abc");
  // The shorter one matches as soon as it is whole.
  StopMatcher streamed({"abc", "ab"});
  EXPECT_EQ(streamed.Add("x").emit, "x");
  EXPECT_EQ(streamed.Add("a").emit, "");
  StopMatcher::Result result = streamed.Add("b");
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.emit, "");
  EXPECT_EQ(streamed.matched_stop(), "ab");
  // A later-starting stop inside a longer one's partial match.
  StopMatcher inner({"abcd", "bc"});
  EXPECT_EQ(inner.Add("a").emit, "");
  EXPECT_EQ(inner.Add("b").emit, "");
  result = inner.Add("ce");
  EXPECT_EQ(result.emit, "a");
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(inner.matched_stop(), "bc");
}

TEST(StopMatcherTest, ShortStopWaitsForAnEarlierLongerOne) {
  // "c" is whole, but "bcd" started first and may still complete.
  StopMatcher longer({"bcd", "c"});
  EXPECT_EQ(longer.Add("ab").emit, "a");
  StopMatcher::Result result = longer.Add("c");
  EXPECT_EQ(result.emit, "");
  EXPECT_FALSE(result.stopped);
  result = longer.Add("d!");
  EXPECT_EQ(result.emit, "");
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(longer.matched_stop(), "bcd");
  // It does not: the cut is before "c".
  StopMatcher shorter({"bcd", "c"});
  EXPECT_EQ(shorter.Add("abc").emit, "a");
  result = shorter.Add("x");
  EXPECT_EQ(result.emit, "b");
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(shorter.matched_stop(), "c");
  // The stream ends first: Flush cuts before "c".
  StopMatcher ended({"bcd", "c"});
  EXPECT_EQ(ended.Add("abc").emit, "a");
  EXPECT_FALSE(ended.stopped());
  EXPECT_EQ(ended.Flush(), "b");
  EXPECT_TRUE(ended.stopped());
  EXPECT_EQ(ended.matched_stop(), "c");
}

TEST(StopMatcherTest, NoStopReleasesEverything) {
  StopMatcher matcher({"END"});
  EXPECT_EQ(matcher.Add("the E").emit, "the ");
  EXPECT_EQ(matcher.Add("N").emit, "");
  EXPECT_EQ(matcher.Add("D").emit, "");
  EXPECT_TRUE(matcher.stopped());
  StopMatcher open({"END"});
  EXPECT_EQ(open.Add("the EN").emit, "the ");
  EXPECT_FALSE(open.stopped());
  EXPECT_EQ(open.Flush(), "EN");
  EXPECT_EQ(open.matched_stop(), "");
}

TEST(StopMatcherTest, EmptyStopsAreIgnored) {
  StopMatcher none({"", ""});
  StopMatcher::Result result = none.Add("anything");
  EXPECT_EQ(result.emit, "anything");
  EXPECT_FALSE(result.stopped);
  EXPECT_EQ(none.Flush(), "");
  ExpectSameAsReference({"", "yz"}, "wxyz", Bytes("wxyz"));
}

TEST(StopMatcherTest, RandomTextsStopsAndSplitsMatchReference) {
  std::mt19937 rng(7);
  auto random_string = [&](int min_len, int max_len) {
    std::string s;
    const int n = std::uniform_int_distribution<int>(min_len, max_len)(rng);
    for (int k = 0; k < n; ++k) {
      s.push_back("abc\n"[std::uniform_int_distribution<int>(0, 3)(rng)]);
    }
    return s;
  };
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::string> stops;
    const int count = std::uniform_int_distribution<int>(0, 4)(rng);
    for (int k = 0; k < count; ++k) stops.push_back(random_string(0, 5));
    const std::string text = random_string(0, 40);
    ExpectSameAsReference(stops, text, {text});
    ExpectSameAsReference(stops, text, Bytes(text));
    ExpectSameAsReference(stops, text, RandomSplit(text, rng));
  }
}

// --------------------------------------------------------- ReasoningSplitter

using Parts = ReasoningSplitter::Parts;

Parts Split(bool starts_in_reasoning, const std::vector<std::string>& pieces) {
  ReasoningSplitter splitter(starts_in_reasoning);
  Parts all;
  for (const std::string& piece : pieces) {
    Parts parts = splitter.Add(piece);
    all.reasoning += parts.reasoning;
    all.content += parts.content;
  }
  Parts parts = splitter.Flush();
  all.reasoning += parts.reasoning;
  all.content += parts.content;
  return all;
}

void ExpectSplit(bool starts_in_reasoning,
                 const std::vector<std::string>& pieces,
                 absl::string_view reasoning, absl::string_view content) {
  const Parts got = Split(starts_in_reasoning, pieces);
  EXPECT_EQ(got.reasoning, reasoning);
  EXPECT_EQ(got.content, content);
}

TEST(ReasoningSplitterTest, SplitsReasoningFromContent) {
  ExpectSplit(false, {"<think>Two and two.</think>\n\nIt is 4."},
              "Two and two.", "It is 4.");
  ExpectSplit(false, {"\n <think>r</think>c"}, "r", "c");
  ExpectSplit(false, {"<think>r</think>\n\nA\n\nB "}, "r", "A\n\nB ");
  ExpectSplit(false, {"<think>r</think>\n\n"}, "r", "");
  ExpectSplit(false, {"<think></think>c"}, "", "c");
}

TEST(ReasoningSplitterTest, TagsSplitAtEveryPosition) {
  const std::string text = "  <think>\nhmm < </th </think>\n\n<think> ok";
  for (size_t i = 0; i <= text.size(); ++i) {
    for (size_t j = i; j <= text.size(); ++j) {
      SCOPED_TRACE(absl::StrCat(i, ",", j));
      ExpectSplit(false,
                  {text.substr(0, i), text.substr(i, j - i), text.substr(j)},
                  "\nhmm < </th ", "<think> ok");
    }
  }
  ExpectSplit(false, Bytes(text), "\nhmm < </th ", "<think> ok");
}

TEST(ReasoningSplitterTest, ReleasesTextAsSoonAsItIsNotATag) {
  ReasoningSplitter splitter(false);
  Parts parts = splitter.Add("<th");
  EXPECT_EQ(parts.reasoning, "");
  EXPECT_EQ(parts.content, "");
  parts = splitter.Add("ink>abc</th");
  EXPECT_EQ(parts.reasoning, "abc");
  parts = splitter.Add("at");
  EXPECT_EQ(parts.reasoning, "</that");
  parts = splitter.Add("</think>\n");
  EXPECT_EQ(parts.reasoning, "");
  EXPECT_EQ(parts.content, "");
  parts = splitter.Add("\nDone");
  EXPECT_EQ(parts.content, "Done");
}

TEST(ReasoningSplitterTest, ContentOnly) {
  ExpectSplit(false, {"Hello there."}, "", "Hello there.");
  ExpectSplit(false, {"\n\nHello"}, "", "\n\nHello");
  ExpectSplit(false, {"  "}, "", "  ");
  ExpectSplit(false, {"<thin", "g>"}, "", "<thing>");
  ExpectSplit(false, {"<thi"}, "", "<thi");  // Flushed as content.
  // An open tag after the start is content.
  ExpectSplit(false, {"Answer: <think>x</think> y"}, "",
              "Answer: <think>x</think> y");
  ExpectSplit(false, Bytes("a<think>b</think>"), "", "a<think>b</think>");

  ReasoningSplitter splitter(false);
  EXPECT_EQ(splitter.Add("Hi <").content, "Hi <");
  EXPECT_EQ(splitter.Add("think>").content, "think>");
}

TEST(ReasoningSplitterTest, StartsInReasoning) {
  ExpectSplit(true, {"Let me see.\n</think>\n\nThe answer is 4."},
              "Let me see.\n", "The answer is 4.");
  ExpectSplit(true, Bytes("a</think>b"), "a", "b");
  ExpectSplit(true, {"</think>only content"}, "", "only content");
  ExpectSplit(true, {""}, "", "");
}

TEST(ReasoningSplitterTest, UnclosedReasoningStaysReasoning) {
  ExpectSplit(false, {"<think>still going"}, "still going", "");
  ExpectSplit(false, {"<think>still </thi"}, "still </thi", "");
  ExpectSplit(true, {"all reasoning </"}, "all reasoning </", "");
  ExpectSplit(false, {"<think>"}, "", "");
}

TEST(ReasoningSplitterTest, OtherTags) {
  ReasoningSplitter splitter(false, "<reasoning>", "</reasoning>");
  Parts parts = splitter.Add("<reasoning>r</reason");
  EXPECT_EQ(parts.reasoning, "r");
  parts = splitter.Add("ing> c");
  EXPECT_EQ(parts.content, "c");
}

TEST(ReasoningSplitterTest, RandomSplitsMatchWholeFeed) {
  std::mt19937 rng(99);
  const std::vector<std::string> atoms = {
      "<think>", "</think>", "<", "</", "<th", "</thi", "think>",
      "\n",      " ",        "a", "b",  ">",   "\t"};
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const int n = std::uniform_int_distribution<int>(0, 12)(rng);
    for (int k = 0; k < n; ++k) {
      text += atoms[std::uniform_int_distribution<size_t>(
          0, atoms.size() - 1)(rng)];
    }
    for (bool starts_in_reasoning : {false, true}) {
      SCOPED_TRACE(absl::StrCat(absl::CEscape(text), " ", starts_in_reasoning));
      const Parts whole = Split(starts_in_reasoning, {text});
      Parts got = Split(starts_in_reasoning, RandomSplit(text, rng));
      EXPECT_EQ(got.reasoning, whole.reasoning);
      EXPECT_EQ(got.content, whole.content);
      got = Split(starts_in_reasoning, Bytes(text));
      EXPECT_EQ(got.reasoning, whole.reasoning);
      EXPECT_EQ(got.content, whole.content);
    }
  }
}

}  // namespace
}  // namespace sluice::worker
