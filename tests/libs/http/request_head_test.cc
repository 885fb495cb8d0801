// CheckChunkFraming: what Beast's parser of a chunked body may hold while
// it waits for a chunk-size line or the trailers to end.
#include "libs/http/request_head.h"

#include <string>

#include "gtest/gtest.h"

namespace sluice::http::internal {
namespace {

constexpr uint64_t kTrailerLimit = 1024;

ChunkFraming Check(const std::string& unparsed) {
  return CheckChunkFraming(unparsed, kTrailerLimit);
}

TEST(CheckChunkFramingTest, ALineUpToTheLimitMayGoOn) {
  EXPECT_EQ(Check(""), ChunkFraming::kWithinLimits);
  EXPECT_EQ(Check("\r"), ChunkFraming::kWithinLimits);
  EXPECT_EQ(Check("\r\n1f;name=va"), ChunkFraming::kWithinLimits);
  // The line at its limit, its CRLF still to come (or half come).
  std::string line = "5;" + std::string(kMaxChunkLineBytes - 2, 'e');
  EXPECT_EQ(Check(line), ChunkFraming::kWithinLimits);
  EXPECT_EQ(Check(line + "\r"), ChunkFraming::kWithinLimits);
  EXPECT_EQ(Check("\r\n" + line + "\r"), ChunkFraming::kWithinLimits);
}

TEST(CheckChunkFramingTest, ALongerLineIsRefused) {
  std::string line = "5;" + std::string(kMaxChunkLineBytes - 1, 'e');
  EXPECT_EQ(Check(line + "e"), ChunkFraming::kLineTooLong);
  EXPECT_EQ(Check(line + "\r"), ChunkFraming::kLineTooLong);
  EXPECT_EQ(Check("\r\n" + line + "ee"), ChunkFraming::kLineTooLong);
  EXPECT_EQ(Check(std::string(1 << 20, 'f')), ChunkFraming::kLineTooLong);
}

TEST(CheckChunkFramingTest, TrailersAfterTheLastChunkAreBoundedLikeAHead) {
  EXPECT_EQ(Check("0\r\n"), ChunkFraming::kWithinLimits);
  EXPECT_EQ(Check("\r\n0;last\r\nX-Sum: 1\r\n"), ChunkFraming::kWithinLimits);
  std::string trailers = "X-Pad: " + std::string(kTrailerLimit - 7, 't');
  EXPECT_EQ(Check("\r\n0\r\n" + trailers), ChunkFraming::kWithinLimits);
  EXPECT_EQ(Check("\r\n0\r\n" + trailers + "\r"),
            ChunkFraming::kTrailersTooLarge);
  // A last chunk's line of any allowed length: only the trailers count.
  std::string line = "0;" + std::string(kMaxChunkLineBytes - 2, 'e');
  EXPECT_EQ(Check(line + "\r\n" + trailers), ChunkFraming::kWithinLimits);
}

}  // namespace
}  // namespace sluice::http::internal
