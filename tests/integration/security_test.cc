// Issue 14, on whole gateways: a tenant's key never reads another tenant's
// objects, one test per kind: jobs, files, batches, usage and traces (the
// cache has its own, cache_test.cc's TenantsNeverSeeEachOthersEntries).
// Another tenant's object is answered exactly as one that does not exist:
// 404 in OpenAI's error shape, never 403 (which would say it exists). And
// the admin endpoints, and the internal gRPC listener, refuse tenant keys.
// (secrets_test.cc: keys at rest, and keys in what the gateway says.)
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/hash/sha256.h"
#include "rapidjson/document.h"
#include "sluice/v1/cache.grpc.pb.h"
#include "sluice/v1/gateway.grpc.pb.h"
#include "sluice/v1/metering.grpc.pb.h"
#include "tests/integration/api_calls.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/support/http_test_client.h"
#include "tests/support/self_signed_cert.h"
#include "tests/support/subprocess.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// An answer to another tenant's object must be the answer to an object
// that does not exist (the ids aside): 404, OpenAI's error shape.
void ExpectAnsweredAsMissing(const HttpAnswer& other,
                             const std::string& other_id,
                             const HttpAnswer& missing,
                             const std::string& missing_id,
                             const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(missing.status, 404) << missing.body;
  rapidjson::Document error = Json(other.body);
  ASSERT_TRUE(error.IsObject() && error.HasMember("error") &&
              error["error"].IsObject())
      << other.body;
  EXPECT_EQ(Member(error["error"], "type"), "invalid_request_error");
  EXPECT_FALSE(Member(error["error"], "message").empty());
  EXPECT_TRUE(error["error"].HasMember("param"));
  EXPECT_TRUE(error["error"].HasMember("code"));
  EXPECT_EQ(absl::StrReplaceAll(other.body, {{other_id, "ID"}}),
            absl::StrReplaceAll(missing.body, {{missing_id, "ID"}}));
  EXPECT_EQ(other.Header("content-type"), "application/json");
}

// The total of `field` over the rows of a usage answer's "data".
int64_t Sum(const rapidjson::Document& doc, const char* field) {
  int64_t total = 0;
  if (!doc.IsObject() || !doc.HasMember("data")) return -1;
  for (const auto& row : doc["data"].GetArray()) {
    if (row.HasMember(field)) total += row[field].GetInt64();
  }
  return total;
}

// The distinct values of `field` in the rows of a usage answer.
std::set<std::string> Values(const rapidjson::Document& doc,
                             const char* field) {
  std::set<std::string> values;
  if (!doc.IsObject() || !doc.HasMember("data")) return values;
  for (const auto& row : doc["data"].GetArray()) {
    values.insert(Member(row, field));
  }
  return values;
}

class TenantIsolationTest : public ::testing::Test {
 protected:
  void StartGateway(const GatewayOptions& options = {}) {
    auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
  }

  void ProduceJob(const std::string& custom_id, const std::string& key) {
    sluice::testing::ProduceJob(*gateway_, custom_id, key, "job " + custom_id);
  }
  std::vector<std::string> JobResults(size_t count) {
    return ReadTopic(*gateway_, "sluice.job-results", count);
  }

  std::unique_ptr<Gateway> gateway_;
};

TEST_F(TenantIsolationTest, AnotherTenantsJobIsNotFound) {
  // A third tenant whose name is another's and more: "demo/eu".
  constexpr char kDemoEuKey[] = "sk-sluice-demo-eu";
  GatewayOptions options;
  options.extra_tenants = {absl::StrCat("{name: demo/eu, api_key_sha256s: [",
                                        hash::Sha256Hex(kDemoEuKey), "]}")};
  StartGateway(options);
  ProduceJob("private-job", kDemoKey);
  ASSERT_EQ(JobResults(1).size(), 1u);
  ASSERT_EQ(gateway_->UpstreamRequests(), 1);

  HttpAnswer own = Call(*gateway_, "GET", "/v1/jobs/private-job", kDemoKey);
  ASSERT_EQ(own.status, 200) << own.body;
  const std::string demo_request =
      Member(Json(own.body)["result"]["response"], "request_id");
  ASSERT_FALSE(demo_request.empty()) << own.body;
  ExpectAnsweredAsMissing(
      Call(*gateway_, "GET", "/v1/jobs/private-job", kAcmeKey), "private-job",
      Call(*gateway_, "GET", "/v1/jobs/never-sent-job", kAcmeKey),
      "never-sent-job", "GET /v1/jobs/{id}");

  // The same over gRPC: NOT_FOUND, word for word as for a job never sent.
  auto stub = sluice::v1::Gateway::NewStub(grpc::CreateChannel(
      gateway_->ingress_grpc(), grpc::InsecureChannelCredentials()));
  auto get_job = [&](const char* key, const std::string& id,
                     sluice::v1::JobResult* job) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", key));
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    sluice::v1::JobResultRequest request;
    request.set_custom_id(id);
    return stub->GetJob(&context, request, job);
  };
  sluice::v1::JobResult job;
  ASSERT_TRUE(get_job(kDemoKey, "private-job", &job).ok());
  EXPECT_THAT(job.result_json(), HasSubstr(demo_request));
  sluice::v1::JobResult leaked;
  grpc::Status other = get_job(kAcmeKey, "private-job", &leaked);
  grpc::Status never = get_job(kAcmeKey, "never-sent-job", &leaked);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(never.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(
      absl::StrReplaceAll(other.error_message(), {{"private-job", "ID"}}),
      absl::StrReplaceAll(never.error_message(), {{"never-sent-job", "ID"}}));
  EXPECT_TRUE(leaked.result_json().empty());

  // Another tenant's job of the same custom_id is another job: it runs
  // (the upstream sees it) and is never answered from the first one's
  // stored result.
  ProduceJob("private-job", kAcmeKey);
  ASSERT_EQ(JobResults(2).size(), 2u);
  EXPECT_EQ(gateway_->UpstreamRequests(), 2);
  HttpAnswer acme = Call(*gateway_, "GET", "/v1/jobs/private-job", kAcmeKey);
  ASSERT_EQ(acme.status, 200) << acme.body;
  const std::string acme_request =
      Member(Json(acme.body)["result"]["response"], "request_id");
  EXPECT_FALSE(acme_request.empty());
  EXPECT_NE(acme_request, demo_request);
  EXPECT_EQ(Call(*gateway_, "GET", "/v1/jobs/private-job", kDemoKey).body,
            own.body);

  // demo/eu's job "x" is not demo's job "eu/x", over HTTP, over gRPC, nor
  // when demo sends a job "eu/x" of its own (it runs).
  ProduceJob("x", kDemoEuKey);
  ASSERT_EQ(JobResults(3).size(), 3u);
  ASSERT_EQ(gateway_->UpstreamRequests(), 3);
  ASSERT_EQ(Call(*gateway_, "GET", "/v1/jobs/x", kDemoEuKey).status, 200);
  ExpectAnsweredAsMissing(
      Call(*gateway_, "GET", "/v1/jobs/eu/x", kDemoKey), "eu/x",
      Call(*gateway_, "GET", "/v1/jobs/eu/never-sent", kDemoKey),
      "eu/never-sent", "GET /v1/jobs/{id}, a longer tenant name's job");
  EXPECT_EQ(get_job(kDemoKey, "eu/x", &leaked).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(leaked.result_json().empty());
  ProduceJob("eu/x", kDemoKey);
  ASSERT_EQ(JobResults(4).size(), 4u);
  EXPECT_EQ(gateway_->UpstreamRequests(), 4);
  EXPECT_NE(Call(*gateway_, "GET", "/v1/jobs/eu/x", kDemoKey).body,
            Call(*gateway_, "GET", "/v1/jobs/x", kDemoEuKey).body);
}

TEST_F(TenantIsolationTest, AnotherTenantsFileIsNotFound) {
  StartGateway();
  const std::string content = BatchLines("demo-private", 2, "demo's secret");
  HttpAnswer uploaded = Upload(*gateway_, content, kDemoKey);
  ASSERT_EQ(uploaded.status, 200) << uploaded.body;
  const std::string id = Member(Json(uploaded.body), "id");
  ASSERT_THAT(id, StartsWith("file-"));
  const std::string made_up = "file-" + std::string(id.size() - 5, '0');

  for (const char* suffix : {"", "/content"}) {
    ExpectAnsweredAsMissing(
        Call(*gateway_, "GET", "/v1/files/" + id + suffix, kAcmeKey), id,
        Call(*gateway_, "GET", "/v1/files/" + made_up + suffix, kAcmeKey),
        made_up, absl::StrCat("GET /v1/files/{id}", suffix));
  }
  ExpectAnsweredAsMissing(
      Call(*gateway_, "DELETE", "/v1/files/" + id, kAcmeKey), id,
      Call(*gateway_, "DELETE", "/v1/files/" + made_up, kAcmeKey), made_up,
      "DELETE /v1/files/{id}");
  // Nor can it make a batch of it: the refusal is the one for no file.
  HttpAnswer other_input = CreateBatch(*gateway_, id, kAcmeKey);
  HttpAnswer no_input = CreateBatch(*gateway_, made_up, kAcmeKey);
  EXPECT_EQ(other_input.status, 400) << other_input.body;
  EXPECT_EQ(absl::StrReplaceAll(other_input.body, {{id, "ID"}}),
            absl::StrReplaceAll(no_input.body, {{made_up, "ID"}}));

  // Its list holds its own files only.
  HttpAnswer acme_upload = Upload(*gateway_, BatchLines("acme", 1), kAcmeKey);
  ASSERT_EQ(acme_upload.status, 200) << acme_upload.body;
  HttpAnswer listed = Call(*gateway_, "GET", "/v1/files", kAcmeKey);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_THAT(listed.body, HasSubstr(Member(Json(acme_upload.body), "id")));
  EXPECT_THAT(listed.body, Not(HasSubstr(id)));
  EXPECT_EQ(Json(listed.body)["data"].Size(), 1u) << listed.body;

  // The owner still has the file, untouched by the attempts above.
  HttpAnswer own =
      Call(*gateway_, "GET", "/v1/files/" + id + "/content", kDemoKey);
  EXPECT_EQ(own.status, 200);
  EXPECT_EQ(own.body, content);
  EXPECT_THAT(Call(*gateway_, "GET", "/v1/files", kDemoKey).body,
              HasSubstr(id));
}

TEST_F(TenantIsolationTest, AnotherTenantsBatchIsNotFound) {
  GatewayOptions options;
  options.sim_ttft = absl::Milliseconds(200);  // in progress for a while
  StartGateway(options);
  HttpAnswer file = Upload(*gateway_, BatchLines("demo", 3), kDemoKey);
  ASSERT_EQ(file.status, 200) << file.body;
  HttpAnswer created =
      CreateBatch(*gateway_, Member(Json(file.body), "id"), kDemoKey);
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = Member(Json(created.body), "id");
  ASSERT_THAT(id, StartsWith("batch_"));
  const std::string made_up = "batch_" + std::string(id.size() - 6, '0');

  // While it runs, another tenant can neither see nor cancel it.
  ExpectAnsweredAsMissing(
      Call(*gateway_, "POST", "/v1/batches/" + id + "/cancel", kAcmeKey), id,
      Call(*gateway_, "POST", "/v1/batches/" + made_up + "/cancel", kAcmeKey),
      made_up, "POST /v1/batches/{id}/cancel, running");
  ExpectAnsweredAsMissing(
      Call(*gateway_, "GET", "/v1/batches/" + id, kAcmeKey), id,
      Call(*gateway_, "GET", "/v1/batches/" + made_up, kAcmeKey), made_up,
      "GET /v1/batches/{id}");

  rapidjson::Document done = AwaitBatch(*gateway_, id, kDemoKey, "completed");
  EXPECT_EQ(done["request_counts"]["completed"].GetInt(), 3);
  const std::string output = Member(done, "output_file_id");
  ASSERT_FALSE(output.empty());

  // Finished: its owner's cancel is refused for its status (400), another
  // tenant's is still a 404, as for no batch at all.
  EXPECT_EQ(
      Call(*gateway_, "POST", "/v1/batches/" + id + "/cancel", kDemoKey).status,
      400);
  ExpectAnsweredAsMissing(
      Call(*gateway_, "POST", "/v1/batches/" + id + "/cancel", kAcmeKey), id,
      Call(*gateway_, "POST", "/v1/batches/" + made_up + "/cancel", kAcmeKey),
      made_up, "POST /v1/batches/{id}/cancel, completed");
  // Its output file is the owner's too.
  ExpectAnsweredAsMissing(
      Call(*gateway_, "GET", "/v1/files/" + output + "/content", kAcmeKey),
      output, Call(*gateway_, "GET", "/v1/files/file-none/content", kAcmeKey),
      "file-none", "GET /v1/files/{output_file_id}/content");
  EXPECT_EQ(Call(*gateway_, "GET", "/v1/files/" + output + "/content", kDemoKey)
                .status,
            200);

  // Lists: the other tenant's holds nothing of it, even paging after it.
  HttpAnswer acme_list = Call(*gateway_, "GET", "/v1/batches", kAcmeKey);
  ASSERT_EQ(acme_list.status, 200) << acme_list.body;
  EXPECT_EQ(Json(acme_list.body)["data"].Size(), 0u) << acme_list.body;
  HttpAnswer after =
      Call(*gateway_, "GET", "/v1/batches?after=" + id, kAcmeKey);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(Json(after.body)["data"].Size(), 0u) << after.body;
  EXPECT_THAT(Call(*gateway_, "GET", "/v1/batches", kDemoKey).body,
              HasSubstr(id));
}

TEST_F(TenantIsolationTest, UsageReportsOnlyTheCallersTenant) {
  StartGateway();
  HttpAnswer demo_answer =
      Call(*gateway_, "POST", "/v1/chat/completions", kDemoKey, Ask("one"));
  ASSERT_EQ(demo_answer.status, 200) << demo_answer.body;
  ASSERT_EQ(
      Call(*gateway_, "POST", "/v1/chat/completions", kDemoKey, Ask("two"))
          .status,
      200);
  ASSERT_EQ(
      Call(*gateway_, "POST", "/v1/chat/completions", kAcmeKey, Ask("three"))
          .status,
      200);
  WaitForUsage(*gateway_, 2, kDemoKey);
  WaitForUsage(*gateway_, 1, kAcmeKey);
  // Both tenants' figures are there to leak: the admin key sees them.
  HttpAnswer all =
      Call(*gateway_, "GET", "/v1/usage?group_by=tenant", kAdminKey);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(Values(Json(all.body), "tenant"),
            (std::set<std::string>{"acme", "demo"}));

  // Running totals and reports, however grouped or filtered: acme only.
  for (const std::string query :
       {"", "?group_by=tenant", "?group_by=tenant,key,model,provider",
        "?start=0&granularity=minute&group_by=tenant",
        "?group_by=tenant&model=deepseek-chat&provider=sim"}) {
    HttpAnswer answer = Call(*gateway_, "GET", "/v1/usage" + query, kAcmeKey);
    ASSERT_EQ(answer.status, 200) << query << ": " << answer.body;
    rapidjson::Document doc = Json(answer.body);
    EXPECT_EQ(Values(doc, "tenant"), std::set<std::string>{"acme"}) << query;
    EXPECT_EQ(Sum(doc, "requests"), 1) << query << ": " << answer.body;
  }
  HttpAnswer csv = Call(*gateway_, "GET",
                        "/v1/usage?group_by=tenant,key&format=csv", kAcmeKey);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_THAT(csv.body, HasSubstr("acme"));
  EXPECT_THAT(csv.body, Not(HasSubstr("demo")));
  // Filtering by the other tenant's key id finds nothing (by its own, its
  // request).
  auto by_key = [&](const char* key) {
    HttpAnswer answer = Call(*gateway_, "GET",
                             "/v1/usage?group_by=tenant,key&key_id=" +
                                 hash::Sha256Hex(key).substr(0, 12),
                             kAcmeKey);
    EXPECT_EQ(answer.status, 200) << answer.body;
    return Sum(Json(answer.body), "requests");
  };
  EXPECT_EQ(by_key(kDemoKey), 0);
  EXPECT_EQ(by_key(kAcmeKey), 1);

  // Naming another tenant is refused, with no figures, and in the same
  // words whether that tenant exists or not.
  HttpAnswer named = Call(*gateway_, "GET", "/v1/usage?tenant=demo", kAcmeKey);
  HttpAnswer nobody =
      Call(*gateway_, "GET", "/v1/usage?tenant=nobody", kAcmeKey);
  EXPECT_EQ(named.status, 403) << named.body;
  EXPECT_EQ(named.body, nobody.body);
  EXPECT_THAT(named.body, Not(HasSubstr("requests")));
  EXPECT_EQ(
      Call(*gateway_, "GET", "/v1/usage?tenant=demo&group_by=tenant", kAcmeKey)
          .status,
      403);

  // One request's usage event: the other tenant's is a 404 like none.
  const std::string id = demo_answer.Header("x-request-id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Call(*gateway_, "GET", "/v1/usage/requests/" + id, kDemoKey).status,
            200);
  ExpectAnsweredAsMissing(
      Call(*gateway_, "GET", "/v1/usage/requests/" + id, kAcmeKey), id,
      Call(*gateway_, "GET", "/v1/usage/requests/req_none", kAcmeKey),
      "req_none", "GET /v1/usage/requests/{id}");
}

TEST_F(TenantIsolationTest, AnotherTenantsTraceIsNotFound) {
  StartGateway();
  // Both choose the same trace id (a client picks its own): traces are
  // still kept apart, by request.
  const std::string traceparent =
      "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto chat = [&](const char* key) {
    return HttpCall(
        "POST", gateway_->http_base() + "/v1/chat/completions",
        {Bearer(key), "Content-Type: application/json", traceparent},
        Ask("traced"));
  };
  HttpAnswer demo = chat(kDemoKey);
  HttpAnswer acme = chat(kAcmeKey);
  ASSERT_EQ(demo.status, 200) << demo.body;
  ASSERT_EQ(acme.status, 200) << acme.body;
  const std::string demo_id = demo.Header("x-request-id");
  const std::string acme_id = acme.Header("x-request-id");
  const std::string path = "/v1/usage/requests/" + demo_id + "/trace";
  // The owner and the admin key read it once metering has it.
  AwaitAnswer(*gateway_, path, kDemoKey, HasUpstreamSpan);
  EXPECT_EQ(Call(*gateway_, "GET", path, kAdminKey).status, 200);

  ExpectAnsweredAsMissing(
      Call(*gateway_, "GET", path, kAcmeKey), demo_id,
      Call(*gateway_, "GET", "/v1/usage/requests/req_none/trace", kAcmeKey),
      "req_none", "GET /v1/usage/requests/{id}/trace");
  // Asking for the other tenant by name does not help.
  EXPECT_EQ(Call(*gateway_, "GET", path + "?tenant=demo", kAcmeKey).status,
            403);
  // Its own trace, of the same trace id, holds its own spans only.
  HttpAnswer own =
      AwaitAnswer(*gateway_, "/v1/usage/requests/" + acme_id + "/trace",
                  kAcmeKey, HasUpstreamSpan);
  rapidjson::Document trace = Json(own.body);
  ASSERT_TRUE(trace.IsObject()) << own.body;
  for (const auto& span : trace["trace"]["spans"].GetArray()) {
    EXPECT_EQ(Member(span, "request_id"), acme_id) << own.body;
  }
  EXPECT_THAT(own.body, Not(HasSubstr(demo_id)));
  EXPECT_THAT(own.body,
              Not(HasSubstr(R"("sluice.tenant","string_value":"demo")")));
}

// Every admin route (services/ingress/admin_api.h, batch_api.h's clock;
// metering serves no HTTP of its own, and its console's page holds no data)
// refuses tenants' keys (403) and callers without a key (401), and does
// nothing for them; the internal gRPC listener takes no API key at all.
TEST_F(TenantIsolationTest, AdminEndpointsRefuseTenantKeys) {
  GatewayOptions options;
  options.extra_yaml = "jobs: {manual_clock: true}\n";
  StartGateway(options);
  HttpAnswer created = Call(*gateway_, "POST", "/admin/keys", kAdminKey,
                            R"({"tenant":"acme","name":"tenant-virtual"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string virtual_key = Member(Json(created.body), "key");
  const std::string virtual_id = Member(Json(created.body), "id");
  // The cache holds an answer of acme's (its fill may land just after the
  // answer: until the stats show it).
  auto fill_cache = [&] {
    ASSERT_EQ(
        Call(
            *gateway_, "POST", "/v1/chat/completions", kAcmeKey,
            R"({"model":"deepseek-chat","temperature":0,"messages":[{"role":"user","content":"cached"}]})")
            .status,
        200);
    AwaitAnswer(*gateway_, "/admin/cache/stats?tenant=acme", kAdminKey,
                [](const std::string& body) {
                  rapidjson::Document stats = Json(body);
                  return Sum(stats, "entries") > 0;
                });
  };
  // What the admin routes act on, as the admin key sees it: the keys, the
  // cache and the clock.
  auto state = [&] {
    return absl::StrCat(
        Call(*gateway_, "GET", "/admin/keys", kAdminKey).body, "\n",
        Call(*gateway_, "GET", "/admin/cache/stats", kAdminKey).body, "\n",
        Call(*gateway_, "POST", "/admin/clock", kAdminKey,
             R"({"advance_seconds":0})")
            .body);
  };

  struct Route {
    std::string method, path, body;
    int admin_status;
  };
  const std::vector<Route> routes = {
      {"GET", "/admin/cache/stats", "", 200},
      {"GET", "/admin/cache/stats?tenant=acme", "", 200},
      {"DELETE", "/admin/cache?tenant=acme", "", 200},
      {"DELETE", "/admin/cache", "", 200},
      {"GET", "/admin/keys", "", 200},
      {"GET", "/admin/keys?tenant=acme", "", 200},
      {"POST", "/admin/keys", R"({"tenant":"acme","name":"made-here"})", 201},
      {"POST", "/admin/clock", R"({"advance_seconds":3600})", 200},
      // Last: the admin key revokes the virtual key.
      {"DELETE", "/admin/keys/" + virtual_id, "", 200},
  };
  const std::vector<std::pair<std::string, std::string>> tenants = {
      {"demo's config key", kDemoKey},
      {"acme's config key", kAcmeKey},
      {"acme's virtual key", virtual_key}};
  for (const Route& route : routes) {
    SCOPED_TRACE(route.method + " " + route.path);
    fill_cache();
    const std::string before = state();
    for (const auto& [who, key] : tenants) {
      HttpAnswer refused =
          Call(*gateway_, route.method, route.path, key, route.body);
      EXPECT_EQ(refused.status, 403) << who << ": " << refused.body;
      EXPECT_EQ(Member(Json(refused.body)["error"], "type"), "permission_error")
          << who << ": " << refused.body;
    }
    HttpAnswer anonymous =
        Call(*gateway_, route.method, route.path, "", route.body);
    EXPECT_EQ(anonymous.status, 401) << anonymous.body;
    EXPECT_EQ(Call(*gateway_, route.method, route.path,
                   "sk-sluice-not-the-admin-key", route.body)
                  .status,
              403);
    // None of it took effect: the virtual key still works, and the keys,
    // the cache and the clock are as they were.
    EXPECT_EQ(Call(*gateway_, "GET", "/v1/models", virtual_key).status, 200);
    EXPECT_EQ(state(), before);
    // The admin key is let in.
    HttpAnswer admitted =
        Call(*gateway_, route.method, route.path, kAdminKey, route.body);
    EXPECT_EQ(admitted.status, route.admin_status) << admitted.body;
  }
  // ...and it did what the tenants could not.
  EXPECT_EQ(Call(*gateway_, "GET", "/v1/models", virtual_key).status, 401);

  // The console's page is open to all, but is only files: its data comes
  // from the admin-only API above.
  HttpAnswer console = Call(*gateway_, "GET", "/console", "");
  EXPECT_EQ(console.status, 200);
  EXPECT_THAT(console.body, Not(HasSubstr("acme")));

  // The internal listener wants the internal secret: neither a tenant's
  // key nor the admin key opens it.
  auto channel = grpc::CreateChannel(gateway_->internal_grpc(),
                                     grpc::InsecureChannelCredentials());
  auto metering = sluice::v1::Metering::NewStub(channel);
  auto cache = sluice::v1::Cache::NewStub(channel);
  for (const std::string& key :
       {std::string(kAcmeKey), virtual_key, std::string(kAdminKey)}) {
    grpc::ClientContext usage_context;
    usage_context.AddMetadata("authorization", "Bearer " + key);
    usage_context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(10));
    sluice::v1::UsageQuery query;
    query.set_tenant("demo");
    sluice::v1::UsageReport report;
    grpc::Status usage = metering->GetUsage(&usage_context, query, &report);
    EXPECT_EQ(usage.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << usage.error_message();
    EXPECT_EQ(report.totals_size(), 0);

    grpc::ClientContext cache_context;
    cache_context.AddMetadata("authorization", "Bearer " + key);
    cache_context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(10));
    sluice::v1::CacheInvalidateRequest drop;
    sluice::v1::CacheInvalidateResponse dropped;
    EXPECT_EQ(cache->Invalidate(&cache_context, drop, &dropped).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
}

// Optional TLS on the HTTP API (server.http_tls): the API over HTTPS with
// the configured certificate, streams included; a client that does not
// trust it, or speaks plain HTTP to it, gets no answer at all.
TEST(HttpsTest, TheApiServesHttpsWithTheConfiguredCertificate) {
  GatewayOptions options;
  options.https = true;
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const std::string base = (*gateway)->http_base();
  ASSERT_THAT(base, StartsWith("https://127.0.0.1:"));
  const std::vector<std::string> headers = {
      absl::StrCat("Authorization: Bearer ", kDemoKey),
      "Content-Type: application/json"};
  constexpr char kAsk[] =
      R"({"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]})";

  // Trusting another certificate only, curl refuses the server's.
  const std::string other_dir = (*gateway)->dir() + "/other-ca";
  ASSERT_TRUE(std::filesystem::create_directory(other_dir));
  absl::StatusOr<CertificateFiles> other =
      WriteSelfSignedCertificate(other_dir);
  ASSERT_TRUE(other.ok()) << other.status();
  TrustCaFile(other->certificate);
  HttpAnswer untrusted =
      HttpCall("POST", base + "/v1/chat/completions", headers, kAsk);
  EXPECT_EQ(untrusted.status, 0);
  EXPECT_FALSE(untrusted.error.empty());
  const std::string plain = absl::StrCat(
      "http://", base.substr(std::string("https://").size()));
  HttpAnswer cleartext =
      HttpCall("POST", plain + "/v1/chat/completions", headers, kAsk);
  EXPECT_EQ(cleartext.status, 0) << cleartext.body;

  TrustCaFile((*gateway)->ca_file());
  HttpAnswer answer =
      HttpCall("POST", base + "/v1/chat/completions", headers, kAsk);
  ASSERT_EQ(answer.status, 200) << answer.body << answer.error;
  EXPECT_THAT(answer.body, HasSubstr("chat.completion"));
  HttpAnswer stream = HttpCall(
      "POST", base + "/v1/chat/completions", headers,
      R"({"model":"deepseek-chat","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(stream.status, 200) << stream.body << stream.error;
  std::vector<std::string> events = SseData(stream.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  // Only the two answered requests reached the provider.
  EXPECT_EQ((*gateway)->UpstreamRequests(), 2);
  TrustCaFile("");
}

}  // namespace
}  // namespace sluice::testing
