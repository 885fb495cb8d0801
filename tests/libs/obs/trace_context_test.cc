// traceparent parsing per the W3C spec, and ids from a fixed random source.
#include "libs/obs/trace_context.h"

#include <string>

#include "gtest/gtest.h"

namespace sluice::obs {
namespace {

// Answers first, first + 1, first + 2, ...
class SequenceRandom : public RandomSource {
 public:
  explicit SequenceRandom(uint64_t first) : next_(first) {}
  uint64_t Next() override { return next_++; }

 private:
  uint64_t next_;
};

constexpr char kSampled[] =
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
constexpr char kNotSampled[] =
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

TEST(TraceparentTest, SpecExamplesRoundTrip) {
  for (const char* header : {kSampled, kNotSampled}) {
    absl::StatusOr<TraceContext> parsed = ParseTraceparent(header);
    ASSERT_TRUE(parsed.ok()) << header << ": " << parsed.status();
    EXPECT_EQ(FormatTraceparent(*parsed), header);
    EXPECT_EQ(parsed->TraceIdHex(), "0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(parsed->SpanIdHex(), "b7ad6b7169203331");
  }
  EXPECT_EQ(ParseTraceparent(kSampled)->flags, 1);
  EXPECT_EQ(ParseTraceparent(kNotSampled)->flags, 0);
  EXPECT_EQ(ParseTraceparent(
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff")
                ->flags,
            0xff);
}

TEST(TraceparentTest, FutureVersionsParseTheirFirstFields) {
  for (const char* header :
       {"cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-next",
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-"}) {
    absl::StatusOr<TraceContext> parsed = ParseTraceparent(header);
    ASSERT_TRUE(parsed.ok()) << header;
    EXPECT_EQ(FormatTraceparent(*parsed), kSampled);
  }
}

TEST(TraceparentTest, RejectsInvalidForms) {
  for (const char* header : {
           "",
           "00",
           // Wrong length for version 00.
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-011",
           "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
           // Upper-case hex anywhere.
           "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
           "00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A",
           "0A-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
           // Not hex.
           "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x",
           // All-zero ids.
           "00-00000000000000000000000000000000-b7ad6b7169203331-01",
           "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
           // Version ff.
           "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
           // Bad separators.
           "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
           "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
           // A future version still needs '-' after the flags.
           "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
       }) {
    EXPECT_FALSE(ParseTraceparent(header).ok()) << "'" << header << "'";
  }
}

TEST(TraceContextTest, NewRootTraceIsDeterministic) {
  SequenceRandom random(0x1111111111111111);
  TraceContext root = NewRootTrace(random);
  EXPECT_EQ(root.TraceIdHex(), "11111111111111111111111111111112");
  EXPECT_EQ(root.SpanIdHex(), "1111111111111113");
  EXPECT_EQ(FormatTraceparent(root),
            "00-11111111111111111111111111111112-1111111111111113-01");
  ASSERT_TRUE(ParseTraceparent(FormatTraceparent(root)).ok());
}

TEST(TraceContextTest, ChildSpanKeepsTraceAndFlags) {
  SequenceRandom random(0xabcdef0000000000);
  TraceContext parent = *ParseTraceparent(kNotSampled);
  TraceContext child = ChildSpan(parent, random);
  EXPECT_EQ(child.trace_id, parent.trace_id);
  EXPECT_EQ(child.flags, parent.flags);
  EXPECT_NE(child.span_id, parent.span_id);
  EXPECT_EQ(child.SpanIdHex(), "abcdef0000000000");
  EXPECT_EQ(ChildSpan(parent, random).SpanIdHex(), "abcdef0000000001");
}

TEST(TraceContextTest, ZeroSourceStillGivesValidIds) {
  class Zero : public RandomSource {
    uint64_t Next() override { return 0; }
  } zero;
  TraceContext root = NewRootTrace(zero);
  EXPECT_TRUE(ParseTraceparent(FormatTraceparent(root)).ok());
  EXPECT_EQ(NewRequestId(zero, absl::FromUnixMillis(1)),
            "req_000000000010000000000000");
}

TEST(TraceContextTest, RequestIdsSortByTime) {
  SequenceRandom random(0x0123456789abcdef);
  // 2026-12-06T00:00:00Z is 1796515200000 ms, 0x1a248a67c00.
  EXPECT_EQ(NewRequestId(random, absl::FromUnixMillis(1796515200000)),
            "req_1a248a67c003456789abcdef");
  std::string a = NewRequestId(ThreadLocalRandom());
  std::string b = NewRequestId(ThreadLocalRandom());
  EXPECT_EQ(a.size(), 28u);
  EXPECT_EQ(a.rfind("req_", 0), 0u);
  EXPECT_NE(a, b);
  // A later millisecond sorts after, whatever the random part.
  EXPECT_LT(NewRequestId(ThreadLocalRandom(), absl::FromUnixMillis(1000)),
            NewRequestId(ThreadLocalRandom(), absl::FromUnixMillis(1001)));
}

}  // namespace
}  // namespace sluice::obs
