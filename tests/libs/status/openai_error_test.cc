// OpenAI's error body, byte for byte.
#include "libs/status/openai_error.h"

#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace sluice::status {
namespace {

TEST(OpenAIErrorJsonTest, NullParamAndCode) {
  EXPECT_EQ(OpenAIErrorJson(ErrorFromStatus(absl::InternalError("oops"))),
            R"({"error":{"message":"oops","type":"server_error",)"
            R"("param":null,"code":null}})");
}

TEST(OpenAIErrorJsonTest, ParamAndCodeAndEscaping) {
  sluice::v1::Error error = ErrorFromStatus(
      InvalidRequest("bad \"x\"\n\x01 é", "messages[0].role", "bad"));
  EXPECT_EQ(OpenAIErrorJson(error),
            "{\"error\":{\"message\":\"bad \\\"x\\\"\\n\\u0001 é\","
            "\"type\":\"invalid_request_error\",\"param\":"
            "\"messages[0].role\",\"code\":\"bad\"}}");
}

TEST(OpenAIErrorJsonTest, UnauthenticatedShape) {
  EXPECT_EQ(OpenAIErrorJson(ErrorFromStatus(Unauthenticated("Incorrect key"))),
            R"({"error":{"message":"Incorrect key",)"
            R"("type":"invalid_request_error","param":null,)"
            R"("code":"invalid_api_key"}})");
}

}  // namespace
}  // namespace sluice::status
