// SseParser: every split of the input gives the same events; line endings,
// comments, multi-line data and the field forms of the SSE spec.
#include "libs/http/sse_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sluice::http {
namespace {

struct Parsed {
  std::vector<SseParser::Event> events;
  std::vector<std::string> comments;
};

// One string per event, for comparing whole sequences.
std::vector<std::string> Flatten(const std::vector<SseParser::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    out.push_back(e.event + "|" + e.id + "|" + e.data);
  return out;
}

// Feeds `input` in pieces of `step` bytes (0: all at once).
Parsed Parse(const std::string& input, size_t step = 0) {
  Parsed parsed;
  SseParser parser(
      [&](const SseParser::Event& e) { parsed.events.push_back(e); },
      [&](absl::string_view c) { parsed.comments.emplace_back(c); });
  if (step == 0) {
    parser.Feed(input);
  } else {
    for (size_t i = 0; i < input.size(); i += step) {
      parser.Feed(absl::string_view(input).substr(i, step));
    }
  }
  return parsed;
}

const char kStream[] =
    ": hello\n"
    "event: delta\n"
    "id: 7\n"
    "data: {\"a\":1}\n"
    "\n"
    "data:first\n"
    "data:  second\n"
    "data\n"
    "\n"
    "data: [DONE]\n"
    "\n";

TEST(SseParserTest, ParsesFieldsCommentsAndMultiLineData) {
  Parsed parsed = Parse(kStream);
  ASSERT_EQ(parsed.events.size(), 3u);
  EXPECT_EQ(parsed.events[0].event, "delta");
  EXPECT_EQ(parsed.events[0].id, "7");
  EXPECT_EQ(parsed.events[0].data, "{\"a\":1}");
  // No space after the colon, only one space stripped, a bare field name.
  EXPECT_EQ(parsed.events[1].data, "first\n second\n");
  EXPECT_EQ(parsed.events[1].event, "");
  EXPECT_EQ(parsed.events[2].data, "[DONE]");
  ASSERT_EQ(parsed.comments.size(), 1u);
  EXPECT_EQ(parsed.comments[0], " hello");
}

TEST(SseParserTest, AnySplitGivesTheSameEvents) {
  Parsed whole = Parse(kStream);
  for (size_t step : {1, 2, 3, 5, 7}) {
    Parsed split = Parse(kStream, step);
    EXPECT_EQ(Flatten(split.events), Flatten(whole.events)) << "step " << step;
    EXPECT_EQ(split.comments, whole.comments) << "step " << step;
  }
}

TEST(SseParserTest, CrLfAndCrLineEndings) {
  const std::string crlf = "data: a\r\ndata: b\r\n\r\n: c\r\ndata: d\r\n\r\n";
  const std::string cr = "data: a\rdata: b\r\r: c\rdata: d\r\r";
  for (const std::string& input : {crlf, cr}) {
    for (size_t step : {0, 1, 2, 3, 4}) {
      Parsed parsed = Parse(input, step);
      ASSERT_EQ(parsed.events.size(), 2u);
      EXPECT_EQ(parsed.events[0].data, "a\nb");
      EXPECT_EQ(parsed.events[1].data, "d");
      ASSERT_EQ(parsed.comments.size(), 1u);
      EXPECT_EQ(parsed.comments[0], " c");
    }
  }
}

TEST(SseParserTest, NoEventWithoutDataAndNoneUntilBlankLine) {
  Parsed parsed = Parse("event: ping\n\ndata: partial\n");
  EXPECT_TRUE(parsed.events.empty());
}

TEST(SseParserTest, LeadingBomIsSkipped) {
  for (size_t step : {0, 1}) {
    Parsed parsed = Parse(
        "\xEF\xBB\xBF"
        "data: x\n\n",
        step);
    ASSERT_EQ(parsed.events.size(), 1u);
    EXPECT_EQ(parsed.events[0].data, "x");
  }
}

}  // namespace
}  // namespace sluice::http
