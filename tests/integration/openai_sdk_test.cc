// Compatibility with the official `openai` npm package: node drives the SDK
// (tests/compat/openai_sdk/sdk_compat.mjs) against `sluice serve`, then the
// gRPC Gateway API is asked the same and must give the same answers: the
// same text, usage, and the same refusals (bad key, rate limit, bad input).
// `./dev test` installs the SDK; without node or the SDK the test skips.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "sluice/v1/gateway.grpc.pb.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/sdk_script.h"
#include "tests/support/grpc_callback_queue.h"
#include "tests/support/http_test_client.h"
#include "tests/support/subprocess.h"

namespace sluice::testing {
namespace {

constexpr char kModel[] = "deepseek-chat";
constexpr char kPrompt[] = "What is a sluice gate?";
constexpr char kStreamPrompt[] = "Stream me a sluice story";
constexpr char kBadKey[] = "sk-sluice-not-a-key";
constexpr int kAcmeRpm = 2;
constexpr absl::Duration kSlowFirstToken = absl::Seconds(8);

std::string String(const rapidjson::Value& value) {
  return value.IsString() ? value.GetString() : "";
}

std::unique_ptr<grpc::ClientContext> Context(
    const std::string& key,
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!key.empty()) context->AddMetadata("authorization", "Bearer " + key);
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

sluice::v1::ChatRequest Ask(const std::string& prompt) {
  sluice::v1::ChatRequest request;
  request.set_model(kModel);
  sluice::v1::Message* message = request.add_messages();
  message->set_role("user");
  message->set_text(prompt);
  return request;
}

// The OpenAI error details our gRPC statuses carry.
sluice::v1::Error DetailsOf(const grpc::Status& status) {
  sluice::v1::Error error;
  error.ParseFromString(status.error_details());
  return error;
}

struct StreamAnswer {
  grpc::Status status;
  std::string text;
  std::vector<sluice::v1::ChatChunk> chunks;
};

StreamAnswer Stream(sluice::v1::Gateway::Stub& stub,
                    const sluice::v1::ChatRequest& request,
                    const std::string& key) {
  std::unique_ptr<grpc::ClientContext> context = Context(key);
  auto reader = stub.StreamComplete(context.get(), request);
  StreamAnswer answer;
  sluice::v1::ChatChunk chunk;
  while (reader->Read(&chunk)) {
    for (const auto& choice : chunk.choices()) {
      answer.text += choice.delta().text();
    }
    answer.chunks.push_back(chunk);
  }
  answer.status = reader->Finish();
  return answer;
}

// Runs sdk_compat.mjs against `gateway`.
SdkRun RunSdk(const SdkTools& tools, const Gateway& gateway) {
  return RunSdkScript(tools, "sdk_compat.mjs",
                      {"SLUICE_BASE_URL=" + gateway.http_base() + "/v1",
                       absl::StrCat("SLUICE_API_KEY=", kDemoKey),
                       absl::StrCat("SLUICE_LIMITED_KEY=", kAcmeKey),
                       absl::StrCat("SLUICE_LIMITED_RPM=", kAcmeRpm),
                       absl::StrCat("SLUICE_BAD_KEY=", kBadKey),
                       absl::StrCat("SLUICE_MODEL=", kModel),
                       absl::StrCat("SLUICE_PROMPT=", kPrompt),
                       absl::StrCat("SLUICE_STREAM_PROMPT=", kStreamPrompt)});
}

TEST(OpenAiSdkTest, SdkAndGrpcGetTheSameAnswers) {
  // A compatibility test that quietly skips would prove nothing: without
  // node or the SDK (./dev test installs both) it fails.
  absl::StatusOr<SdkTools> tools = FindSdkTools();
  if (!tools.ok()) GTEST_FAIL() << tools.status().message();
  HoldGrpcCallbackQueue();
  GatewayOptions options;
  options.acme_limits = absl::StrCat("{rpm: ", kAcmeRpm, "}");
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  // The SDK spends acme's limit last; the gRPC calls below come within the
  // same minute and find it spent.
  SdkRun sdk = RunSdk(*tools, **gateway);
  ASSERT_EQ(sdk.exit_code, 0) << sdk.output;
  ASSERT_TRUE(sdk.seen.IsObject()) << sdk.output;
  const rapidjson::Value& seen = sdk.seen;
  const std::string sdk_content = String(seen["chat"]["content"]);
  const std::string sdk_streamed = String(seen["stream"]["text"]);
  ASSERT_FALSE(sdk_content.empty()) << sdk.output;
  ASSERT_FALSE(sdk_streamed.empty()) << sdk.output;
  EXPECT_EQ(seen["rate_limit"]["status"].GetInt(), 429) << sdk.output;

  auto channel = grpc::CreateChannel((*gateway)->ingress_grpc(),
                                     grpc::InsecureChannelCredentials());
  auto stub = sluice::v1::Gateway::NewStub(channel);
  sluice::v1::ChatResponse response;

  // Rate limit: HTTP and gRPC spend the same one.
  grpc::Status limited =
      stub->Complete(Context(kAcmeKey).get(), Ask(kPrompt), &response);
  EXPECT_EQ(limited.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << limited.error_message();
  sluice::v1::Error limited_details = DetailsOf(limited);
  EXPECT_EQ(limited_details.type(), String(seen["rate_limit"]["type"]));
  EXPECT_EQ(limited_details.http_status(), 429);
  EXPECT_GT(limited_details.retry_after_ms(), 0);
  EXPECT_EQ(Stream(*stub, Ask(kPrompt), kAcmeKey).status.error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);

  // The same answer text and usage as the SDK got.
  grpc::Status status =
      stub->Complete(Context(kDemoKey).get(), Ask(kPrompt), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.choices_size(), 1);
  EXPECT_EQ(response.choices(0).message().text(), sdk_content);
  EXPECT_EQ(response.choices(0).finish_reason(),
            String(seen["chat"]["finish_reason"]));
  const rapidjson::Value& usage = seen["chat"]["usage"];
  EXPECT_EQ(response.usage().prompt_tokens(),
            usage["prompt_tokens"].GetInt64());
  EXPECT_EQ(response.usage().completion_tokens(),
            usage["completion_tokens"].GetInt64());
  EXPECT_EQ(response.usage().total_tokens(), usage["total_tokens"].GetInt64());

  sluice::v1::ChatRequest stream_request = Ask(kStreamPrompt);
  stream_request.set_include_usage(true);
  StreamAnswer streamed = Stream(*stub, stream_request, kDemoKey);
  ASSERT_TRUE(streamed.status.ok()) << streamed.status.error_message();
  EXPECT_EQ(streamed.text, sdk_streamed);
  ASSERT_FALSE(streamed.chunks.empty());
  // As over HTTP: the usage comes last, in a chunk without choices.
  const sluice::v1::ChatChunk& last = streamed.chunks.back();
  EXPECT_TRUE(last.has_usage());
  EXPECT_EQ(last.choices_size(), 0);
  EXPECT_EQ(last.usage().total_tokens(),
            seen["stream"]["usage"]["total_tokens"].GetInt64());

  // A bad key or none: UNAUTHENTICATED, as the SDK's AuthenticationError.
  EXPECT_EQ(seen["bad_key"]["status"].GetInt(), 401);
  EXPECT_EQ(stub->Complete(Context(kBadKey).get(), Ask(kPrompt), &response)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(
      stub->Complete(Context("").get(), Ask(kPrompt), &response).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Stream(*stub, Ask(kPrompt), kBadKey).status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // No messages: INVALID_ARGUMENT naming the same parameter as the SDK's
  // BadRequestError.
  sluice::v1::ChatRequest empty;
  empty.set_model(kModel);
  grpc::Status invalid =
      stub->Complete(Context(kDemoKey).get(), empty, &response);
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailsOf(invalid).param(), String(seen["bad_input"][0]["param"]));
  EXPECT_EQ(DetailsOf(invalid).param(), "messages");
  EXPECT_EQ(Stream(*stub, empty, kDemoKey).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // The same model list.
  sluice::v1::ListModelsResponse models;
  grpc::Status listed = stub->ListModels(Context(kDemoKey).get(), {}, &models);
  ASSERT_TRUE(listed.ok()) << listed.error_message();
  std::set<std::string> grpc_models, sdk_models;
  for (const auto& model : models.models()) grpc_models.insert(model.id());
  for (const auto& id : seen["models"].GetArray())
    sdk_models.insert(id.GetString());
  EXPECT_EQ(grpc_models, sdk_models);
}

// Requests ingress finished with an error, by sluice_requests_total on
// /metrics, for streams or not.
int64_t FailedRequests(const Gateway& gateway, bool stream) {
  std::string body = HttpCall("GET", gateway.http_base() + "/metrics").body;
  std::string labels =
      absl::StrCat(",stream=\"", stream ? "true" : "false", "\"} ");
  int64_t failed = 0;
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    size_t at = line.find(labels);
    if (!absl::StartsWith(line, "sluice_requests_total{") ||
        at == absl::string_view::npos ||
        absl::StartsWith(line, "sluice_requests_total{status=\"200\"")) {
      continue;
    }
    int64_t count = 0;
    if (absl::SimpleAtoi(line.substr(at + labels.size()), &count))
      failed += count;
  }
  return failed;
}

// Waits up to `timeout` for FailedRequests to reach `n`.
bool AwaitFailedRequests(const Gateway& gateway, bool stream, int64_t n,
                         absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (FailedRequests(gateway, stream) < n) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

TEST(OpenAiSdkTest, GrpcDeadlineIsHonoured) {
  HoldGrpcCallbackQueue();
  GatewayOptions options;
  // Well inside the providers' first_token timeout (10s): an answer would
  // come, were the deadline not passed on.
  options.sim_ttft = kSlowFirstToken;
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto stub = sluice::v1::Gateway::NewStub(grpc::CreateChannel(
      (*gateway)->ingress_grpc(), grpc::InsecureChannelCredentials()));

  // The client gives up at its deadline, long before the first token; the
  // gateway must too (the request ends as an error well before that token,
  // not as a 200 when it comes).
  absl::Time start = absl::Now();
  sluice::v1::ChatResponse response;
  grpc::Status status =
      stub->Complete(Context(kDemoKey, std::chrono::milliseconds(300)).get(),
                     Ask(kPrompt), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << status.error_message();
  EXPECT_TRUE(AwaitFailedRequests(**gateway, /*stream=*/false, 1,
                                  kSlowFirstToken / 2 - (absl::Now() - start)))
      << HttpCall("GET", (*gateway)->http_base() + "/metrics").body;

  start = absl::Now();
  std::unique_ptr<grpc::ClientContext> context =
      Context(kDemoKey, std::chrono::milliseconds(300));
  auto reader = stub->StreamComplete(context.get(), Ask(kStreamPrompt));
  sluice::v1::ChatChunk chunk;
  int chunks = 0;
  while (reader->Read(&chunk)) ++chunks;
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(chunks, 0);
  EXPECT_TRUE(AwaitFailedRequests(**gateway, /*stream=*/true, 1,
                                  kSlowFirstToken / 2 - (absl::Now() - start)))
      << HttpCall("GET", (*gateway)->http_base() + "/metrics").body;
}

}  // namespace
}  // namespace sluice::testing
