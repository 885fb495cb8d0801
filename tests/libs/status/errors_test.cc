// Error statuses: their OpenAI details, the code → HTTP table, redaction.
#include "libs/status/errors.h"

#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "gtest/gtest.h"
#include "libs/status/openai_error.h"

namespace sluice::status {
namespace {

TEST(ErrorsTest, InvalidRequestCarriesParamAndCode) {
  absl::Status status = InvalidRequest("bad temperature", "temperature", "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "bad temperature");
  sluice::v1::Error error = ErrorFromStatus(status);
  EXPECT_EQ(error.message(), "bad temperature");
  EXPECT_EQ(error.type(), "invalid_request_error");
  EXPECT_EQ(error.param(), "temperature");
  EXPECT_EQ(error.code(), "x");
  EXPECT_EQ(error.http_status(), 400);
}

TEST(ErrorsTest, BuildersHaveOpenAIShapes) {
  sluice::v1::Error e = ErrorFromStatus(Unauthenticated("no key"));
  EXPECT_EQ(e.http_status(), 401);
  EXPECT_EQ(e.type(), "invalid_request_error");
  EXPECT_EQ(e.code(), "invalid_api_key");

  e = ErrorFromStatus(PermissionDenied("model not allowed"));
  EXPECT_EQ(e.http_status(), 403);
  EXPECT_EQ(e.type(), "permission_error");

  absl::Status nf = NotFound("no such model", "model", "model_not_found");
  EXPECT_EQ(nf.code(), absl::StatusCode::kNotFound);
  e = ErrorFromStatus(nf);
  EXPECT_EQ(e.http_status(), 404);
  EXPECT_EQ(e.param(), "model");
  EXPECT_EQ(e.code(), "model_not_found");

  absl::Status rl = RateLimited("slow down", absl::Milliseconds(1500));
  EXPECT_EQ(rl.code(), absl::StatusCode::kResourceExhausted);
  e = ErrorFromStatus(rl);
  EXPECT_EQ(e.http_status(), 429);
  EXPECT_EQ(e.type(), "rate_limit_error");
  EXPECT_EQ(e.retry_after_ms(), 1500);
  ASSERT_TRUE(RetryAfterOf(rl).has_value());
  EXPECT_EQ(*RetryAfterOf(rl), absl::Milliseconds(1500));

  absl::Status quota = QuotaExceeded("budget spent");
  EXPECT_EQ(quota.code(), absl::StatusCode::kResourceExhausted);
  e = ErrorFromStatus(quota);
  EXPECT_EQ(e.http_status(), 429);
  EXPECT_EQ(e.type(), "insufficient_quota");
  EXPECT_FALSE(RetryAfterOf(quota).has_value());
}

TEST(ErrorsTest, UpstreamErrorMapping) {
  absl::Status s = UpstreamError("boom", 500);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(HttpStatusOf(s), 502);
  s = UpstreamError("busy", 429);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(HttpStatusOf(s), 429);
  s = UpstreamError("our provider key is bad", 401);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(HttpStatusOf(s), 502);
  s = UpstreamError("context too long", 400, "invalid_request_error",
                    "context_length_exceeded");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpStatusOf(s), 400);
  EXPECT_EQ(ErrorFromStatus(s).code(), "context_length_exceeded");
}

struct MappingCase {
  absl::StatusCode code;
  int http;
  const char* type;
};

TEST(ErrorsTest, CodeToHttpTableWithoutPayload) {
  const MappingCase cases[] = {
      {absl::StatusCode::kInvalidArgument, 400, "invalid_request_error"},
      {absl::StatusCode::kFailedPrecondition, 400, "invalid_request_error"},
      {absl::StatusCode::kOutOfRange, 400, "invalid_request_error"},
      {absl::StatusCode::kUnauthenticated, 401, "invalid_request_error"},
      {absl::StatusCode::kPermissionDenied, 403, "permission_error"},
      {absl::StatusCode::kNotFound, 404, "invalid_request_error"},
      {absl::StatusCode::kResourceExhausted, 429, "rate_limit_error"},
      {absl::StatusCode::kCancelled, 499, "client_closed_request"},
      {absl::StatusCode::kInternal, 500, "server_error"},
      {absl::StatusCode::kUnknown, 500, "server_error"},
      {absl::StatusCode::kDataLoss, 500, "server_error"},
      {absl::StatusCode::kUnimplemented, 501, "invalid_request_error"},
      {absl::StatusCode::kUnavailable, 503, "server_error"},
      {absl::StatusCode::kDeadlineExceeded, 504, "timeout_error"},
  };
  for (const MappingCase& c : cases) {
    absl::Status status(c.code, "m");
    sluice::v1::Error error = ErrorFromStatus(status);
    EXPECT_EQ(error.http_status(), c.http) << status;
    EXPECT_EQ(error.type(), c.type) << status;
    EXPECT_EQ(error.message(), "m");
    EXPECT_EQ(HttpStatusOf(status), c.http);
  }
  EXPECT_EQ(ErrorFromStatus(absl::UnauthenticatedError("x")).code(),
            "invalid_api_key");
}

TEST(ErrorsTest, StatusFromErrorKeepsDetails) {
  sluice::v1::Error error;
  error.set_message("m");
  error.set_type("t");
  error.set_param("p");
  error.set_code("c");
  error.set_http_status(418);
  absl::Status status =
      StatusFromError(error, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "m");
  sluice::v1::Error back = ErrorFromStatus(status);
  EXPECT_EQ(back.SerializeAsString(), error.SerializeAsString());
}

TEST(RedactSecretsTest, MasksKeysAndBearerTokens) {
  EXPECT_EQ(RedactSecrets("key sk-abc123XYZ_-9 rejected"),
            "key sk-*** rejected");
  EXPECT_EQ(RedactSecrets("sk-proj-aaaa"), "sk-***");
  EXPECT_EQ(RedactSecrets("Authorization: Bearer eyJhbGci.x/y+z= done"),
            "Authorization: Bearer *** done");
  EXPECT_EQ(RedactSecrets("bearer  tok,next"), "bearer ***,next");
  EXPECT_EQ(RedactSecrets("{\"k\":\"sk-live-1\"}"), "{\"k\":\"sk-***\"}");
  // Words that merely contain the letters stay.
  EXPECT_EQ(RedactSecrets("disk-usage task-sk-x"), "disk-usage task-sk-x");
  EXPECT_EQ(RedactSecrets("nothing secret"), "nothing secret");
  EXPECT_EQ(RedactSecrets(""), "");
  std::string redacted = RedactSecrets("a sk-SECRETSECRET b Bearer TOPSECRET");
  EXPECT_EQ(redacted.find("SECRET"), std::string::npos) << redacted;
}

TEST(RedactSecretsTest, MasksKeysInsideFieldsAndSecretNamedValues) {
  EXPECT_EQ(RedactSecrets("GET /v1?api_key=sk-abc123&x=1"), "GET /v1?api_key=***&x=1");
  EXPECT_EQ(RedactSecrets("token:sk-abc"), "token:sk-***");
  EXPECT_EQ(RedactSecrets("x-api-key: AIzaSyA1b2c3 sent"), "x-api-key: *** sent");
  EXPECT_EQ(RedactSecrets("X-Api-Key:abc"), "X-Api-Key:***");
  EXPECT_EQ(RedactSecrets(R"({"api_key": "ant-0123456789", "n": 1})"),
            R"({"api_key": "***", "n": 1})");
  EXPECT_EQ(RedactSecrets("password=hunter2&user=al"), "password=***&user=al");
  EXPECT_EQ(RedactSecrets(R"({'client_secret':'c1'})"), R"({'client_secret':'***'})");
  // Names without a value, and names inside longer words, stay.
  EXPECT_EQ(RedactSecrets("api_keys are hashed; my_password_hint=x"),
            "api_keys are hashed; my_password_hint=x");
  EXPECT_EQ(RedactSecrets("prompt_tokens=12 apikey"), "prompt_tokens=12 apikey");
}

TEST(RedactValuesTest, MasksTheGivenValuesWhateverTheirShape) {
  const std::vector<std::string> secrets = {"gsk_abc123", "AIzaSyXY", ""};
  EXPECT_EQ(RedactValues("bad key gsk_abc123 (and AIzaSyXY).", secrets),
            "bad key *** (and ***).");
  EXPECT_EQ(RedactValues("key=gsk_abc123gsk_abc123", secrets), "key=******");
  EXPECT_EQ(RedactValues("nothing here", secrets), "nothing here");
  EXPECT_EQ(RedactValues("nothing here", {}), "nothing here");
}

TEST(RedactValuesTest, MasksAStatusAndItsOpenAIErrorKeepingTheRest) {
  const std::vector<std::string> secrets = {"prov-key-42"};
  absl::Status status = UpstreamError(
      "upstream answered HTTP 401: Incorrect API key provided: prov-key-42.",
      401, "invalid_request_error", "invalid_api_key");
  status.SetPayload("type.example/other", absl::Cord("kept"));
  absl::Status redacted = RedactValues(status, secrets);
  EXPECT_EQ(redacted.code(), status.code());
  EXPECT_EQ(redacted.message(),
            "upstream answered HTTP 401: Incorrect API key provided: ***.");
  sluice::v1::Error error = ErrorFromStatus(redacted);
  EXPECT_EQ(error.message(), redacted.message());
  EXPECT_EQ(error.http_status(), 502);
  EXPECT_EQ(error.code(), "invalid_api_key");
  EXPECT_EQ(redacted.GetPayload("type.example/other"), absl::Cord("kept"));
  // Nothing to mask: the same status.
  EXPECT_EQ(RedactValues(absl::OkStatus(), secrets), absl::OkStatus());
  absl::Status clean = absl::UnavailableError("no key here");
  EXPECT_EQ(RedactValues(clean, secrets), clean);
}

}  // namespace
}  // namespace sluice::status
