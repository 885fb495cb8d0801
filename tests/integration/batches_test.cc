// OpenAI's Batch API on a whole gateway: the official SDK's walk through
// files and batches (tests/compat/openai_sdk/batch_compat.mjs: completed,
// failed validation, cancelled, expired and off-peak batches on a manual
// clock), a batch that survives a SIGKILL of the process running it, and
// two ingress replicas on one PostgreSQL that share a batch and run it
// once.
#include <filesystem>
#include <iostream>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/sdk_script.h"
#include "tests/support/http_test_client.h"
#include "tests/support/postgres_schema.h"

namespace sluice::testing {
namespace {

constexpr char kBoundary[] = "sluice-test-boundary-7d1f";

std::string Auth(const char* key) { return absl::StrCat("authorization: Bearer ", key); }

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

// POST /v1/files as multipart/form-data, by hand (what curl -F sends).
HttpAnswer Upload(const Gateway& gateway, const std::string& jsonl,
                  const char* key = kDemoKey) {
  std::string body = absl::StrCat(
      "--", kBoundary, "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n",
      "--", kBoundary,
      "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lines.jsonl\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n",
      jsonl, "\r\n--", kBoundary, "--\r\n");
  return HttpCall("POST", gateway.http_base() + "/v1/files",
                  {Auth(key),
                   absl::StrCat("content-type: multipart/form-data; boundary=", kBoundary)},
                  body);
}

// GET /v1/batches/{id} from the ingress at `base`.
rapidjson::Document GetBatchAt(const std::string& base, const std::string& id,
                               const char* key = kDemoKey) {
  HttpAnswer answer = HttpCall("GET", base + "/v1/batches/" + id, {Auth(key)});
  return Json(answer.status == 200 ? answer.body : "{}");
}

rapidjson::Document GetBatch(const Gateway& gateway, const std::string& id,
                             const char* key = kDemoKey) {
  return GetBatchAt(gateway.http_base(), id, key);
}

// `lines` chat lines ("<prefix>-<i>") as a JSONL file.
std::string Lines(const std::string& prefix, int lines) {
  std::string jsonl;
  for (int i = 0; i < lines; ++i) {
    absl::StrAppend(&jsonl, R"({"custom_id":")", prefix, "-", i,
                    R"(","method":"POST","url":"/v1/chat/completions","body":{"model":"deepseek-chat","messages":[{"role":"user","content":")",
                    prefix, " ", i, R"("}]}})", "\n");
  }
  return jsonl;
}

// Uploads `jsonl` and creates a batch of it; its id, or empty.
std::string CreateBatch(const Gateway& gateway, const std::string& jsonl,
                        const char* key = kDemoKey) {
  HttpAnswer file = Upload(gateway, jsonl, key);
  if (file.status != 200) {
    ADD_FAILURE() << "upload: " << file.status << " " << file.body << file.error;
    return "";
  }
  HttpAnswer created = HttpCall(
      "POST", gateway.http_base() + "/v1/batches",
      {Auth(key), "content-type: application/json"},
      absl::StrCat(R"({"input_file_id":")", Json(file.body)["id"].GetString(),
                   R"(","endpoint":"/v1/chat/completions","completion_window":"24h"})"));
  if (created.status != 200) {
    ADD_FAILURE() << "create: " << created.status << " " << created.body << created.error;
    return "";
  }
  return Json(created.body)["id"].GetString();
}

// Polls the ingress at `base` until the batch's status is `status` (60 s
// at most); the batch.
rapidjson::Document AwaitStatusAt(const std::string& base, const std::string& id,
                                  const std::string& status, const char* key = kDemoKey) {
  rapidjson::Document batch;
  absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (absl::Now() < deadline) {
    batch = GetBatchAt(base, id, key);
    if (batch.IsObject() && batch.HasMember("status") &&
        status == batch["status"].GetString()) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return batch;
}

rapidjson::Document AwaitStatus(const Gateway& gateway, const std::string& id,
                                const std::string& status, const char* key = kDemoKey) {
  return AwaitStatusAt(gateway.http_base(), id, status, key);
}

TEST(BatchesTest, OfficialSdkWalksFilesAndBatches) {
  absl::StatusOr<SdkTools> tools = FindSdkTools();
  if (!tools.ok()) GTEST_FAIL() << tools.status().message();
  GatewayOptions options;
  // $1/$2 per Mtok, half from 16:30 to 00:30 UTC (DeepSeek's off-peak).
  options.deepseek_prices =
      "input_usd_per_mtok: 1, output_usd_per_mtok: 2, price_windows: [{start: \"16:30\", "
      "end: \"00:30\", input_usd_per_mtok: 0.5, output_usd_per_mtok: 1}]";
  options.extra_yaml = "jobs: {manual_clock: true, batch_finish_reserve: 20h}\n";
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  SdkRun run = RunSdkScript(*tools, "batch_compat.mjs",
                            {"SLUICE_BASE_URL=" + (*gateway)->http_base() + "/v1",
                             absl::StrCat("SLUICE_API_KEY=", kDemoKey),
                             absl::StrCat("SLUICE_OTHER_KEY=", kAcmeKey),
                             absl::StrCat("SLUICE_ADMIN_KEY=", kAdminKey)});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(run.seen.IsObject()) << run.output;
  // Upstream saw the three good lines of the first batch and the two of
  // the off-peak one, once each: cancelled and expired lines never ran.
  EXPECT_EQ((*gateway)->UpstreamRequests(), 5) << run.output;
  std::cout << "batch_compat: " << run.output << "\n";
}

TEST(BatchesTest, ABatchSurvivesSigkillOfItsProcess) {
  constexpr int kLines = 300;
  GatewayOptions options;
  options.sim_ttft = absl::Milliseconds(20);
  options.extra_yaml = "jobs: {batch_concurrency: 16}\n";
  auto started = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(started.ok()) << started.status();
  Gateway& gateway = **started;

  std::string id = CreateBatch(gateway, Lines("line", kLines));
  ASSERT_FALSE(id.empty());

  // Kill it once a third of the lines are done.
  absl::Time deadline = absl::Now() + absl::Minutes(2);
  int64_t done_before = 0;
  while (absl::Now() < deadline) {
    rapidjson::Document batch = GetBatch(gateway, id);
    if (batch.IsObject() && batch.HasMember("request_counts")) {
      done_before = batch["request_counts"]["completed"].GetInt64();
      if (done_before >= kLines / 3) break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_GE(done_before, kLines / 3);
  ASSERT_LT(done_before, kLines) << "finished before the kill: nothing was tested";
  ASSERT_TRUE(gateway.KillAndRestart().ok());

  rapidjson::Document batch = AwaitStatus(gateway, id, "completed");
  ASSERT_TRUE(batch.IsObject() && batch.HasMember("status"));
  ASSERT_STREQ(batch["status"].GetString(), "completed");
  EXPECT_EQ(batch["request_counts"]["total"].GetInt64(), kLines);
  EXPECT_EQ(batch["request_counts"]["completed"].GetInt64(), kLines);
  EXPECT_EQ(batch["request_counts"]["failed"].GetInt64(), 0);

  HttpAnswer output =
      HttpCall("GET",
               absl::StrCat(gateway.http_base(), "/v1/files/",
                            batch["output_file_id"].GetString(), "/content"),
               {Auth(kDemoKey)});
  ASSERT_EQ(output.status, 200);
  std::multiset<std::string> ids;
  for (absl::string_view line : absl::StrSplit(output.body, '\n', absl::SkipEmpty())) {
    rapidjson::Document result = Json(std::string(line));
    ASSERT_TRUE(result.IsObject()) << line;
    EXPECT_EQ(result["response"]["status_code"].GetInt(), 200);
    ids.insert(result["custom_id"].GetString());
  }
  // Exactly one result per line.
  EXPECT_EQ(ids.size(), static_cast<size_t>(kLines));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(),
            static_cast<size_t>(kLines));
  // Run twice upstream: only lines in flight at the kill (one round of
  // batch_concurrency).
  int64_t twice = gateway.UpstreamRequests() - kLines;
  std::cout << "batch after SIGKILL: " << done_before << " of " << kLines
            << " done at the kill, " << twice << " lines completed twice upstream\n";
  EXPECT_GE(twice, 0);
  EXPECT_LE(twice, 16);
}

TEST(BatchesTest, ABatchWaitingForItsRateLimitDoesNotHoldUpAnother) {
  // acme may send 2 requests a minute: its batch of 6 lines stalls after
  // two; demo's batch meanwhile runs to the end.
  GatewayOptions options;
  options.acme_limits = "{rpm: 2}";
  auto started = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(started.ok()) << started.status();
  Gateway& gateway = **started;
  std::string stalled = CreateBatch(gateway, Lines("acme", 6), kAcmeKey);
  ASSERT_FALSE(stalled.empty());
  rapidjson::Document running = AwaitStatus(gateway, stalled, "in_progress", kAcmeKey);
  ASSERT_TRUE(running.IsObject() && running.HasMember("status"));
  std::string id = CreateBatch(gateway, Lines("demo", 3));
  ASSERT_FALSE(id.empty());
  rapidjson::Document done = AwaitStatus(gateway, id, "completed");
  ASSERT_TRUE(done.IsObject() && done.HasMember("status"));
  EXPECT_STREQ(done["status"].GetString(), "completed");
  EXPECT_EQ(done["request_counts"]["completed"].GetInt64(), 3);
  rapidjson::Document other = GetBatch(gateway, stalled, kAcmeKey);
  ASSERT_TRUE(other.IsObject() && other.HasMember("status"));
  EXPECT_STREQ(other["status"].GetString(), "in_progress");
  EXPECT_LT(other["request_counts"]["completed"].GetInt64(), 6);

  // Cancelled while its lines wait for the limit: it ends now, not when
  // the limit would have let them through.
  absl::Time asked = absl::Now();
  HttpAnswer cancel = HttpCall(
      "POST", gateway.http_base() + "/v1/batches/" + stalled + "/cancel", {Auth(kAcmeKey)});
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  rapidjson::Document cancelled = AwaitStatus(gateway, stalled, "cancelled", kAcmeKey);
  ASSERT_TRUE(cancelled.IsObject() && cancelled.HasMember("status"));
  EXPECT_STREQ(cancelled["status"].GetString(), "cancelled");
  EXPECT_LT(absl::Now() - asked, absl::Seconds(10));
  EXPECT_EQ(cancelled["request_counts"]["completed"].GetInt64() +
                cancelled["request_counts"]["failed"].GetInt64(),
            6);
}

TEST(BatchesTest, TwoReplicasOnOnePostgresShareABatchAndRunItOnce) {
  constexpr int kLines = 60;
  // Without SLUICE_TEST_POSTGRES this fails, never skips.
  absl::StatusOr<std::unique_ptr<PostgresSchema>> schema =
      PostgresSchema::Create("batches_replicas");
  ASSERT_TRUE(schema.ok()) << schema.status();
  GatewayOptions options;
  options.sim_ttft = absl::Milliseconds(20);
  options.extra_yaml = absl::StrCat("jobs: {postgres_dsn: \"", (*schema)->dsn(),
                                    "\", batch_concurrency: 4}\n");
  auto started = Gateway::Start(Gateway::Layout::kSplit, options);
  ASSERT_TRUE(started.ok()) << started.status();
  Gateway& gateway = **started;
  absl::StatusOr<std::string> second = gateway.AddIngressReplica();
  ASSERT_TRUE(second.ok()) << second.status();

  // Made through the first replica, seen at once through the second.
  std::string id = CreateBatch(gateway, Lines("shared", kLines));
  ASSERT_FALSE(id.empty());
  HttpAnswer seen = HttpCall("GET", *second + "/v1/batches/" + id, {Auth(kDemoKey)});
  EXPECT_EQ(seen.status, 200) << seen.body;
  EXPECT_EQ(HttpCall("GET", *second + "/v1/batches/" + id, {Auth(kAcmeKey)}).status, 404);

  // Both replicas' runners look for work while it runs; one claims it.
  rapidjson::Document batch = AwaitStatusAt(*second, id, "completed");
  ASSERT_TRUE(batch.IsObject() && batch.HasMember("status"));
  ASSERT_STREQ(batch["status"].GetString(), "completed");
  EXPECT_EQ(batch["request_counts"]["completed"].GetInt64(), kLines);
  HttpAnswer output = HttpCall("GET",
                               absl::StrCat(*second, "/v1/files/",
                                            batch["output_file_id"].GetString(), "/content"),
                               {Auth(kDemoKey)});
  ASSERT_EQ(output.status, 200) << output.body;
  std::multiset<std::string> ids;
  for (absl::string_view line : absl::StrSplit(output.body, '\n', absl::SkipEmpty())) {
    rapidjson::Document result = Json(std::string(line));
    ASSERT_TRUE(result.IsObject()) << line;
    ids.insert(result["custom_id"].GetString());
  }
  // Every line exactly one result, and each run upstream once: no two
  // replicas ran the batch at the same time.
  EXPECT_EQ(ids.size(), static_cast<size_t>(kLines));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(),
            static_cast<size_t>(kLines));
  EXPECT_EQ(gateway.UpstreamRequests(), kLines);
  // Nothing went to a replica's own SQLite file.
  EXPECT_FALSE(std::filesystem::exists(gateway.dir() + "/sluice-jobs.db"));
}

}  // namespace
}  // namespace sluice::testing
