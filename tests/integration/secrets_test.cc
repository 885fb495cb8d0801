// Issue 14, on whole gateways: keys made through the admin API and `sluice
// keys` are stored as hashes only (SQLite and PostgreSQL, read directly),
// and no key (a provider API key, a virtual key, config keys, the admin
// key, a client's wrong keys, the internal secret) shows in anything the
// gateway says or keeps: its logs, its answers (errors included), traces,
// /metrics, usage events, OTLP exports and the files it writes.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/hash/sha256.h"
#include "rapidjson/document.h"
#include "sluice/v1/gateway.grpc.pb.h"
#include "tests/integration/api_calls.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/libs/keystore/test_database.h"
#include "tests/support/http_test_client.h"
#include "tests/support/otlp_collector.h"
#include "tests/support/subprocess.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Keys made through the admin API and through `sluice keys create`, read
// back from the key store's database directly (every table; for SQLite the
// raw files too): hashes, never the keys.
class KeysAtRestTest : public ::testing::TestWithParam<keystore::TestBackend> {
};

TEST_P(KeysAtRestTest, KeysAreStoredOnlyAsHashes) {
  if (std::string why = GetParam().skip_reason(); !why.empty()) {
    GTEST_FAIL() << why;
  }
  absl::StatusOr<std::unique_ptr<keystore::TestDatabase>> database =
      GetParam().make();
  ASSERT_TRUE(database.ok()) << database.status();
  GatewayOptions options;
  options.keys = (*database)->KeysConfigYaml();
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  HttpAnswer created = Call(**gateway, "POST", "/admin/keys", kAdminKey,
                            R"({"tenant":"acme","name":"through-the-api"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string api_key = Member(Json(created.body), "key");
  auto cli =
      Subprocess::Start({BuiltBinary("apps/sluice/sluice"), "keys", "create",
                         "--config", (*gateway)->config_path(), "--tenant",
                         "demo", "--name", "through-the-cli"});
  ASSERT_TRUE(cli.ok()) << cli.status();
  absl::StatusOr<std::string> line =
      (*cli)->WaitForLine("\"object\":\"api_key\"", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status() << (*cli)->Output();
  const std::string cli_key = Member(Json(*line), "key");
  ASSERT_EQ((*cli)->Wait(absl::Seconds(30)).value_or(-1), 0);
  // Both are real keys of the store.
  for (const std::string& key : {api_key, cli_key}) {
    ASSERT_THAT(key, StartsWith("sk-sluice-"));
    EXPECT_EQ(
        Call(**gateway, "POST", "/v1/chat/completions", key, Ask("hi")).status,
        200);
  }

  absl::StatusOr<std::string> stored = (*database)->DumpAll();
  ASSERT_TRUE(stored.ok()) << stored.status();
  for (const std::string& key : {api_key, cli_key}) {
    EXPECT_THAT(*stored, HasSubstr(hash::Sha256Hex(key)));
    EXPECT_THAT(*stored, Not(HasSubstr(key)));
    // Nor its random part, nor half of it (only last4 is kept, by design).
    const std::string secret = key.substr(std::strlen("sk-sluice-"));
    EXPECT_THAT(*stored, Not(HasSubstr(secret)));
    EXPECT_THAT(*stored, Not(HasSubstr(secret.substr(0, secret.size() / 2))));
    EXPECT_THAT(*stored,
                Not(HasSubstr(secret.substr(secret.size() / 2 - 4, 8))));
  }
  // The config's keys are not copied into the store either.
  for (const char* key : {kDemoKey, kAcmeKey, kAdminKey}) {
    EXPECT_THAT(*stored, Not(HasSubstr(key)));
  }
  // Listings show ids and last4, never the keys.
  HttpAnswer listed = Call(**gateway, "GET", "/admin/keys", kAdminKey);
  ASSERT_EQ(listed.status, 200);
  auto list =
      Subprocess::Start({BuiltBinary("apps/sluice/sluice"), "keys", "list",
                         "--config", (*gateway)->config_path()});
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ((*list)->Wait(absl::Seconds(30)).value_or(-1), 0);
  ASSERT_TRUE((*list)->WaitForEndOfOutput(absl::Seconds(10)).ok());
  for (const std::string& shown : {listed.body, (*list)->Output()}) {
    EXPECT_THAT(shown, HasSubstr("through-the-cli"));
    EXPECT_THAT(shown, HasSubstr("through-the-api"));
    EXPECT_THAT(shown, Not(HasSubstr(api_key)));
    EXPECT_THAT(shown, Not(HasSubstr(cli_key)));
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, KeysAtRestTest,
                         ::testing::Values(keystore::SqliteBackend(),
                                           keystore::PostgresBackend()),
                         [](const auto& info) { return info.param.name; });

// Text the gateway said or kept, by where it came from.
class Observed {
 public:
  void Add(const std::string& source, absl::string_view text) {
    absl::StrAppend(&texts_[source], text, "\n");
  }
  void Add(const std::string& source, const HttpAnswer& answer) {
    std::string headers;
    for (const auto& [name, value] : answer.headers) {
      absl::StrAppend(&headers, name, ": ", value, "\n");
    }
    Add(source, absl::StrCat(answer.status, "\n", headers, answer.body, "\n",
                             answer.error));
  }
  // Fails the test for every source holding `secret`, showing where.
  void ExpectNowhere(const std::string& what, const std::string& secret) const {
    for (const auto& [source, text] : texts_) {
      size_t at = text.find(secret);
      if (at == std::string::npos) continue;
      size_t from = at < 200 ? 0 : at - 200;
      ADD_FAILURE() << what << " appears in " << source << ": ..."
                    << text.substr(from, at - from + secret.size() + 200)
                    << "...";
    }
  }
  const std::string& text(const std::string& source) { return texts_[source]; }

 private:
  std::map<std::string, std::string> texts_;
};

// Every regular file under `dir`, whole, with its name.
std::string ReadEveryFile(const std::string& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    absl::StrAppend(&all, "== ", entry.path().string(), "\n", bytes.str(),
                    "\n");
  }
  return all;
}

class SecretsTest : public ::testing::TestWithParam<Gateway::Layout> {};

// A run of requests that meet every path a key takes (served, failed
// upstream, refused, a provider error quoting our provider key, gRPC, a
// batch), then a search of everything observable for every key used.
TEST_P(SecretsTest, NoKeyAppearsInLogsAnswersTracesMetricsUsageOrFiles) {
  // A provider key of a shape nothing masks by its prefix (Groq's gsk_).
  const std::string provider_key =
      absl::StrCat("gsk_sluiceProviderSecret", RandomText(24));
  auto collector = OtlpCollector::Start();
  ASSERT_TRUE(collector.ok()) << collector.status();
  GatewayOptions options;
  options.provider_api_key = provider_key;
  options.capture_logs = true;
  options.log_level = "debug";
  // (The failures below must not open the provider's circuit: the
  // requests after them still reach it.)
  options.extra_yaml =
      absl::StrCat("tracing:\n  otlp_endpoint: ", (*collector)->endpoint(),
                   "\n  export_interval: 200ms\n",
                   "router:\n  circuit_breaker: {failure_threshold: 1000}\n");
  auto started = Gateway::Start(GetParam(), options);
  ASSERT_TRUE(started.ok()) << started.status();
  Gateway& gateway = **started;
  Observed observed;

  HttpAnswer created = Call(gateway, "POST", "/admin/keys", kAdminKey,
                            R"({"tenant":"acme","name":"secrets"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string virtual_key = Member(Json(created.body), "key");
  // A client's wrong keys: one shaped like a virtual key (a lookup is made
  // for it), one not.
  const std::string lookalike = absl::StrCat("sk-sluice-", RandomText(32));
  const std::string stranger = absl::StrCat("wrong-key-", RandomText(24));

  // Chat requests; the ids of those that reached the router.
  std::vector<std::string> routed;
  auto chat = [&](const std::string& key, const std::string& body) {
    HttpAnswer answer =
        Call(gateway, "POST", "/v1/chat/completions", key, body);
    observed.Add("HTTP answers", answer);
    return answer;
  };
  auto expect_routed = [&](const HttpAnswer& answer, int status) {
    EXPECT_EQ(answer.status, status) << answer.body << answer.error;
    EXPECT_FALSE(answer.Header("x-request-id").empty());
    routed.push_back(answer.Header("x-request-id"));
  };
  expect_routed(chat(virtual_key, Ask("What is a sluice gate?")), 200);
  expect_routed(chat(kAcmeKey, Ask("Stream me one", "deepseek-chat", true)),
                200);
  expect_routed(chat(virtual_key, Ask("Anthropic", "claude-sonnet-4-5")), 200);
  HttpAnswer failed = chat(virtual_key, Ask("x-sim-fault=500"));
  EXPECT_GE(failed.status, 500) << failed.body;
  routed.push_back(failed.Header("x-request-id"));
  // The provider answers 401 quoting, whole, the key we sent it.
  const std::string echo_body = Ask("x-sim-fault=echo-key");
  HttpAnswer echoed = chat(virtual_key, echo_body);
  expect_routed(echoed, 502);
  EXPECT_THAT(echoed.body, HasSubstr("Incorrect API key provided"));
  expect_routed(
      chat(kAcmeKey, Ask("x-sim-fault=echo-key", "deepseek-chat", true)), 502);
  expect_routed(
      chat(virtual_key, Ask("x-sim-fault=echo-key", "claude-sonnet-4-5")), 502);
  // Wrong keys.
  for (const std::string& key : {lookalike, stranger}) {
    EXPECT_EQ(chat(key, Ask("hi")).status, 401);
    HttpAnswer models = Call(gateway, "GET", "/v1/models", key);
    EXPECT_EQ(models.status, 401);
    observed.Add("HTTP answers", models);
    observed.Add("HTTP answers", Call(gateway, "GET", "/v1/usage", key));
    observed.Add("HTTP answers", Call(gateway, "GET", "/admin/keys", key));
  }
  // The simulator took our provider key (it refuses any other).
  EXPECT_GE(gateway.UpstreamRequests(), 5);

  // gRPC: served, a provider error, a wrong key.
  auto stub = sluice::v1::Gateway::NewStub(grpc::CreateChannel(
      gateway.ingress_grpc(), grpc::InsecureChannelCredentials()));
  for (const auto& [key, content] :
       std::vector<std::pair<std::string, std::string>>{
           {virtual_key, "over gRPC"},
           {virtual_key, "x-sim-fault=echo-key"},
           {lookalike, "over gRPC"}}) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + key);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    sluice::v1::ChatRequest request;
    request.set_model("deepseek-chat");
    sluice::v1::Message* message = request.add_messages();
    message->set_role("user");
    message->set_text(content);
    sluice::v1::ChatResponse response;
    grpc::Status status = stub->Complete(&context, request, &response);
    observed.Add(
        "gRPC answers",
        absl::StrCat(status.error_code(), " ", status.error_message(), " ",
                     status.error_details(), " ", response.DebugString()));
    for (const auto& [name, value] : context.GetServerInitialMetadata()) {
      observed.Add("gRPC answers",
                   absl::StrCat(std::string(name.data(), name.size()), ": ",
                                std::string(value.data(), value.size())));
    }
  }

  // A batch, run under the virtual key (kept as its hash) with a line the
  // provider fails quoting its key.
  HttpAnswer file = Upload(
      gateway,
      absl::StrCat(
          BatchLines("ok", 1),
          R"({"custom_id":"echo","method":"POST","url":"/v1/chat/completions","body":)",
          echo_body, "}\n"),
      virtual_key);
  ASSERT_EQ(file.status, 200) << file.body;
  HttpAnswer batch =
      CreateBatch(gateway, Member(Json(file.body), "id"), virtual_key);
  ASSERT_EQ(batch.status, 200) << batch.body;
  rapidjson::Document done = AwaitBatch(gateway, Member(Json(batch.body), "id"),
                                        virtual_key, "completed");
  for (const char* output : {"output_file_id", "error_file_id"}) {
    std::string id = Member(done, output);
    if (id.empty()) continue;
    HttpAnswer content =
        Call(gateway, "GET", "/v1/files/" + id + "/content", virtual_key);
    observed.Add("batch output files", content);
  }
  EXPECT_THAT(observed.text("batch output files"),
              HasSubstr("Incorrect API key provided"));

  // A Kafka job under the virtual key (which travels whole only in the
  // job's header), failed by the provider quoting its key: a 502, retried,
  // then dead-lettered with the reason.
  ProduceJob(gateway, "echo-job", virtual_key, "x-sim-fault=echo-key");
  std::vector<std::string> dead = ReadTopic(gateway, "sluice.jobs.dlq", 1);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_THAT(dead[0], HasSubstr("Incorrect API key provided"));

  // What metering keeps: each request's usage event and trace (once it
  // holds the upstream call's span, where a provider error is told), and
  // the reports.
  for (const std::string& id : routed) {
    ASSERT_FALSE(id.empty());
    observed.Add("usage events",
                 AwaitAnswer(gateway, "/v1/usage/requests/" + id, kAdminKey,
                             [](const std::string&) { return true; }));
    observed.Add("traces",
                 AwaitAnswer(gateway, "/v1/usage/requests/" + id + "/trace",
                             kAdminKey, HasUpstreamSpan));
  }
  EXPECT_THAT(observed.text("traces"), HasSubstr("Incorrect API key provided"));
  for (const char* query :
       {"/v1/usage?group_by=tenant,key,model,provider",
        "/v1/usage?group_by=key&format=csv&granularity=minute&start=0"}) {
    observed.Add("usage reports", Call(gateway, "GET", query, kAdminKey));
  }
  observed.Add("usage reports", Call(gateway, "GET", "/v1/usage", virtual_key));
  observed.Add("admin answers", Call(gateway, "GET", "/admin/keys", kAdminKey));
  observed.Add("metrics", Call(gateway, "GET", "/metrics", ""));
  for (const char* service : {"router", "metering"}) {
    if (!gateway.metrics_url(service).empty()) {
      observed.Add("metrics", HttpCall("GET", gateway.metrics_url(service)));
    }
  }
  EXPECT_THAT(observed.text("metrics"), HasSubstr("sluice_requests_total"));
  // The OTLP exports, once the failed upstream call's span is out.
  const std::string echoed_id = echoed.Header("x-request-id");
  EXPECT_TRUE((*collector)
                  ->WaitFor(
                      [&](const ReceivedSpan& span) {
                        return span.kind == 3 &&
                               span.Attribute("sluice.request_id") == echoed_id;
                      },
                      kApiWait));
  observed.Add("OTLP exports", (*collector)->bodies());

  // What the gateway wrote to Kafka: usage events, job results, dead
  // letters.
  for (const char* topic :
       {"sluice.usage", "sluice.job-results", "sluice.jobs.dlq"}) {
    for (const std::string& value : ReadTopic(gateway, topic, 0)) {
      observed.Add(absl::StrCat("Kafka topic ", topic), value);
    }
  }
  EXPECT_FALSE(observed.text("Kafka topic sluice.usage").empty());

  // Stopped, every process has written all it will: its logs, its files.
  gateway.Stop();
  const std::string logs = gateway.Output();
  observed.Add("process output (logs)", logs);
  // (The logs were captured: the access log names the requests.)
  EXPECT_THAT(logs, HasSubstr(echoed_id));
  observed.Add("files the gateway wrote", ReadEveryFile(gateway.dir()));

  // (Not sk-sluice-demo: the published demo key, which the startup banner
  // prints in its curl example whatever the config.)
  std::vector<std::pair<std::string, std::string>> secrets = {
      {"the provider API key", provider_key},
      {"the virtual key", virtual_key},
      {"the virtual key's secret part",
       virtual_key.substr(std::strlen("sk-sluice-"))},
      {"acme's config key", kAcmeKey},
      {"the admin key", kAdminKey},
      {"a wrong key shaped like a virtual key", lookalike},
      {"a wrong key", stranger}};
  if (GetParam() == Gateway::Layout::kSplit) {
    secrets.emplace_back("the internal secret", kInternalSecret);
  }
  for (const auto& [what, secret] : secrets) {
    observed.ExpectNowhere(what, secret);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, SecretsTest,
                         ::testing::Values(Gateway::Layout::kOneProcess,
                                           Gateway::Layout::kSplit),
                         [](const auto& info) {
                           return info.param == Gateway::Layout::kOneProcess
                                      ? "OneProcess"
                                      : "Split";
                         });

}  // namespace
}  // namespace sluice::testing
