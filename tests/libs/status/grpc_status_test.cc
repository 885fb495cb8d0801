// Error details survive absl::Status → grpc::Status → absl::Status hops.
#include "libs/status/grpc_status.h"

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace sluice::status {
namespace {

TEST(GrpcStatusTest, OkBothWays) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, PayloadSurvivesManyHops) {
  absl::Status original =
      InvalidRequest("bad role", "messages[2].role", "invalid_value");
  absl::Status status = original;
  for (int hop = 0; hop < 3; ++hop) {
    grpc::Status wire = ToGrpcStatus(status);
    EXPECT_EQ(wire.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(wire.error_message(), "bad role");
    EXPECT_FALSE(wire.error_details().empty());
    status = FromGrpcStatus(wire);
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "bad role");
  sluice::v1::Error error = ErrorFromStatus(status);
  EXPECT_EQ(error.type(), "invalid_request_error");
  EXPECT_EQ(error.param(), "messages[2].role");
  EXPECT_EQ(error.code(), "invalid_value");
  EXPECT_EQ(error.http_status(), 400);
}

TEST(GrpcStatusTest, RetryAfterSurvives) {
  absl::Status status =
      FromGrpcStatus(ToGrpcStatus(RateLimited("wait", absl::Seconds(2))));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(RetryAfterOf(status).has_value());
  EXPECT_EQ(*RetryAfterOf(status), absl::Seconds(2));
}

TEST(GrpcStatusTest, PlainStatusGetsDerivedDetails) {
  grpc::Status wire = ToGrpcStatus(absl::DeadlineExceededError("slow"));
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  absl::Status status = FromGrpcStatus(wire);
  EXPECT_EQ(ErrorFromStatus(status).http_status(), 504);
}

TEST(GrpcStatusTest, ForeignStatusWithoutDetails) {
  absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "down");
  EXPECT_EQ(ErrorFromStatus(status).http_status(), 503);
  // Details that are not our proto are ignored, not trusted.
  status = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::INTERNAL, "x", "\x08\x01garbage"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ErrorFromStatus(status).http_status(), 500);
}

}  // namespace
}  // namespace sluice::status
