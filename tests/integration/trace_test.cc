// Traces (issue 13): a span per component on a request's walk, in the
// client's trace when it sends a traceparent, exported over OTLP/HTTP JSON
// to a collector of ours and kept by metering, where the request's tenant
// and the admin key can read them; and the operator console, opened in
// headless Chromium, showing the tenants, their costs and a trace.
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/integration/sdk_script.h"
#include "tests/support/http_test_client.h"
#include "tests/support/otlp_collector.h"

namespace sluice::testing {
namespace {

constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kClientSpan[] = "00f067aa0ba902b7";

HttpAnswer Chat(const Gateway& gateway, const std::string& key,
                const std::string& body,
                const std::vector<std::string>& extra_headers = {}) {
  std::vector<std::string> headers = {
      absl::StrCat("Authorization: Bearer ", key),
      "Content-Type: application/json"};
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  return HttpCall("POST", gateway.http_base() + "/v1/chat/completions", headers,
                  body);
}

HttpAnswer TraceOf(const Gateway& gateway, const std::string& key,
                   const std::string& request_id) {
  return HttpCall("GET",
                  absl::StrCat(gateway.http_base(), "/v1/usage/requests/",
                               request_id, "/trace"),
                  {absl::StrCat("Authorization: Bearer ", key)});
}

struct KeptSpan {
  std::string name, span_id, parent, trace_id, service;
  int kind = 0;
  int status = 0;
  std::map<std::string, std::string> attributes;
};

// The trace metering keeps of `request_id`, once it has at least `spans`
// spans (metering stores them within a second or so).
std::vector<KeptSpan> WaitForTrace(const Gateway& gateway,
                                   const std::string& key,
                                   const std::string& request_id,
                                   size_t spans) {
  std::vector<KeptSpan> kept;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  HttpAnswer answer;
  while (absl::Now() < deadline) {
    answer = TraceOf(gateway, key, request_id);
    rapidjson::Document doc;
    doc.Parse(answer.body.c_str());
    if (answer.status == 200 && !doc.HasParseError() &&
        doc["trace"]["spans"].Size() >= spans) {
      for (const auto& span : doc["trace"]["spans"].GetArray()) {
        KeptSpan& out = kept.emplace_back();
        out.name = span["name"].GetString();
        out.span_id = span["span_id"].GetString();
        out.parent = span.HasMember("parent_span_id")
                         ? span["parent_span_id"].GetString()
                         : "";
        out.trace_id = span["trace_id"].GetString();
        out.service = span["service"].GetString();
        out.kind = span.HasMember("kind") ? span["kind"].GetInt() : 0;
        out.status =
            span.HasMember("status_code") ? span["status_code"].GetInt() : 0;
        if (span.HasMember("attributes")) {
          for (const auto& attribute : span["attributes"].GetArray()) {
            for (const char* field : {"string_value", "int_value"}) {
              if (attribute.HasMember(field)) {
                out.attributes[attribute["key"].GetString()] =
                    attribute[field].GetString();
              }
            }
          }
        }
      }
      return kept;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  ADD_FAILURE() << "no trace of " << request_id << " with " << spans
                << " spans: " << answer.status << " " << answer.body;
  return kept;
}

// The first span whose name starts with `prefix` (of `kind`, if not 0).
const KeptSpan* Named(const std::vector<KeptSpan>& spans,
                      const std::string& prefix, int kind = 0) {
  for (const KeptSpan& span : spans) {
    if (absl::StartsWith(span.name, prefix) &&
        (kind == 0 || span.kind == kind)) {
      return &span;
    }
  }
  return nullptr;
}

class TraceTest : public ::testing::TestWithParam<Gateway::Layout> {};

TEST_P(TraceTest, EveryComponentAddsItsSpanToTheClientsTrace) {
  auto collector = OtlpCollector::Start();
  ASSERT_TRUE(collector.ok()) << collector.status();
  GatewayOptions options;
  options.extra_yaml =
      absl::StrCat("tracing:\n  otlp_endpoint: ", (*collector)->endpoint(),
                   "\n  export_interval: 200ms\n");
  auto gateway = Gateway::Start(GetParam(), options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  HttpAnswer answer = Chat(
      **gateway, kDemoKey,
      R"({"model":"deepseek-chat","messages":[{"role":"user","content":"Hi"}]})",
      {absl::StrCat("traceparent: 00-", kTraceId, "-", kClientSpan, "-01")});
  ASSERT_EQ(answer.status, 200) << answer.body << answer.error;
  const std::string id = answer.Header("x-request-id");
  WaitForUsage(**gateway, 1);

  // ingress, router, queue and the upstream call.
  std::vector<KeptSpan> spans = WaitForTrace(**gateway, kDemoKey, id, 4);
  const KeptSpan* ingress = Named(spans, "chat deepseek-chat", 2);
  const KeptSpan* router = Named(spans, "route ");
  const KeptSpan* queue = Named(spans, "queue ");
  ASSERT_NE(ingress, nullptr);
  ASSERT_NE(router, nullptr);
  ASSERT_NE(queue, nullptr);
  const KeptSpan* upstream = Named(spans, "chat ", 3);
  ASSERT_NE(upstream, nullptr);
  for (const KeptSpan& span : spans) {
    EXPECT_EQ(span.trace_id, kTraceId) << span.name;
    EXPECT_EQ(span.status, 1) << span.name;
  }
  // The walk: client → ingress (server) → router → queue, upstream call.
  EXPECT_EQ(ingress->kind, 2);
  EXPECT_EQ(ingress->parent, kClientSpan);
  EXPECT_EQ(ingress->attributes.at("sluice.tenant"), "demo");
  EXPECT_EQ(ingress->attributes.at("http.response.status_code"), "200");
  EXPECT_EQ(ingress->attributes.at("gen_ai.provider.name"), "sim");
  EXPECT_EQ(router->parent, ingress->span_id);
  EXPECT_EQ(router->attributes.at("sluice.attempts"), "1");
  EXPECT_EQ(queue->parent, router->span_id);
  EXPECT_EQ(upstream->parent, router->span_id);
  EXPECT_EQ(upstream->name, "chat deepseek-chat");
  EXPECT_EQ(upstream->attributes.at("gen_ai.operation.name"), "chat");
  EXPECT_EQ(upstream->attributes.at("gen_ai.usage.input_tokens"),
            ingress->attributes.at("gen_ai.usage.input_tokens"));
  if (GetParam() == Gateway::Layout::kSplit) {
    // Each process names itself.
    EXPECT_EQ(ingress->service, "sluice-ingress");
    EXPECT_EQ(router->service, "sluice-router+scheduler");
    // Processes without an API port serve /metrics on a listener of their
    // own: the router its providers' figures, metering its consumer lag.
    HttpAnswer router_metrics =
        HttpCall("GET", (*gateway)->metrics_url("router"));
    EXPECT_EQ(router_metrics.status, 200);
    EXPECT_TRUE(absl::StrContains(router_metrics.body,
                                  "sluice_provider_requests_total{"))
        << router_metrics.body;
    const std::string lag =
        R"(sluice_kafka_consumer_lag{group="sluice-metering",topic="sluice.usage"} )";
    HttpAnswer metering_metrics =
        HttpCall("GET", (*gateway)->metrics_url("metering"));
    EXPECT_EQ(metering_metrics.status, 200);
    EXPECT_TRUE(absl::StrContains(metering_metrics.body, lag))
        << metering_metrics.body;
  } else {
    EXPECT_EQ(ingress->service, "sluice");
  }

  // Another tenant cannot read it; the admin key can.
  EXPECT_EQ(TraceOf(**gateway, kAcmeKey, id).status, 404);
  EXPECT_EQ(TraceOf(**gateway, kAdminKey, id).status, 200);
  EXPECT_EQ(TraceOf(**gateway, kDemoKey, "req_none").status, 404);

  // The same spans reached the OTLP collector.
  for (const KeptSpan& span : spans) {
    EXPECT_TRUE((*collector)
                    ->WaitFor(
                        [&](const ReceivedSpan& received) {
                          return received.span_id == span.span_id &&
                                 received.trace_id == kTraceId &&
                                 received.parent_span_id == span.parent &&
                                 received.service == span.service &&
                                 received.Attribute("sluice.request_id") == id;
                        },
                        absl::Seconds(10)))
        << span.name;
  }
  EXPECT_EQ((*collector)->malformed(), 0);

  // A request without a traceparent starts a trace of its own, streamed
  // answers included.
  HttpAnswer stream = Chat(
      **gateway, kDemoKey,
      R"({"model":"deepseek-chat","stream":true,"messages":[{"role":"user","content":"Hi"}]})");
  ASSERT_EQ(stream.status, 200);
  WaitForUsage(**gateway, 2);
  std::vector<KeptSpan> own =
      WaitForTrace(**gateway, kDemoKey, stream.Header("x-request-id"), 4);
  ASSERT_FALSE(own.empty());
  EXPECT_NE(own[0].trace_id, kTraceId);
  const KeptSpan* root = Named(own, "chat deepseek-chat", 2);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->parent, "");
  EXPECT_EQ(root->kind, 2);
}

INSTANTIATE_TEST_SUITE_P(Layouts, TraceTest,
                         ::testing::Values(Gateway::Layout::kOneProcess,
                                           Gateway::Layout::kSplit),
                         [](const auto& info) {
                           return info.param == Gateway::Layout::kOneProcess
                                      ? "OneProcess"
                                      : "Split";
                         });

TEST(ConsoleTest, HeadlessChromiumShowsTenantsCostsAndATrace) {
  const std::string node = FindNode();
  ASSERT_FALSE(node.empty()) << "node is not on PATH (./dev test installs it)";
  const char* playwright = std::getenv("SLUICE_PLAYWRIGHT_DIR");
  const std::string playwright_dir =
      playwright != nullptr
          ? playwright
          : SourceDir() + "/.cache/npm/console_test/node_modules";
  ASSERT_TRUE(std::filesystem::exists(playwright_dir + "/playwright-core"))
      << "playwright-core is not installed in " << playwright_dir
      << " (./dev test installs it)";
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/chromium"))
      << "Debian's chromium is missing (./dev test installs it)";

  GatewayOptions options;
  options.deepseek_prices = "input_usd_per_mtok: 2, output_usd_per_mtok: 8";
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const std::string body =
      R"({"model":"deepseek-chat","messages":[{"role":"user","content":"Tell me about tides"}]})";
  std::string traced;
  for (int i = 0; i < 3; ++i) {
    HttpAnswer answer = Chat(**gateway, kDemoKey, body);
    ASSERT_EQ(answer.status, 200) << answer.body;
    traced = answer.Header("x-request-id");
  }
  ASSERT_EQ(Chat(**gateway, kAcmeKey, body).status, 200);
  WaitForUsage(**gateway, 3);
  WaitForUsage(**gateway, 1, kAcmeKey);
  ASSERT_FALSE(WaitForTrace(**gateway, kDemoKey, traced, 3).empty());

  const std::string screenshot =
      std::filesystem::current_path().string() + "/console_test_screenshot.png";
  std::filesystem::remove(screenshot);
  SdkRun run = RunNodeScript(
      node, "tests/console/console_check.mjs",
      {"SLUICE_PLAYWRIGHT_DIR=" + playwright_dir,
       "SLUICE_BASE_URL=" + (*gateway)->http_base(),
       std::string("SLUICE_ADMIN_KEY=") + kAdminKey,
       std::string("SLUICE_TENANT_KEY=") + kDemoKey,
       "SLUICE_REQUEST_ID=" + traced, "SLUICE_SCREENSHOT=" + screenshot},
      absl::Seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const rapidjson::Document& seen = run.seen;
  ASSERT_TRUE(seen.IsObject()) << run.output;

  EXPECT_EQ(seen["errors"].Size(), 0u) << run.output;
  // A tenant's key does not open the console.
  EXPECT_STREQ(seen["tenant_key"]["loaded"].GetString(), "denied");
  EXPECT_TRUE(absl::StrContains(seen["tenant_key"]["status"].GetString(),
                                "admin key required"))
      << run.output;

  EXPECT_STREQ(seen["loaded"].GetString(), "true") << run.output;
  EXPECT_EQ(seen["charts"].GetInt(), 2) << run.output;  // uPlot drew both
  // Top spenders: both tenants, demo first (three requests to one), each
  // with a non-zero charge.
  const auto& spenders = seen["spenders"];
  ASSERT_EQ(spenders.Size(), 2u) << run.output;
  EXPECT_STREQ(spenders[0][0].GetString(), "demo");
  EXPECT_STREQ(spenders[0][1].GetString(), "3");
  EXPECT_STREQ(spenders[1][0].GetString(), "acme");
  EXPECT_STREQ(spenders[1][1].GetString(), "1");
  for (const auto& row : spenders.GetArray()) {
    EXPECT_GT(std::stod(row[4].GetString()), 0) << row[4].GetString();
  }
  int64_t model_requests = 0;
  for (const auto& row : seen["models"].GetArray()) {
    if (std::string(row[0].GetString()) == "deepseek-chat") {
      model_requests += std::stoll(row[2].GetString());
    }
  }
  EXPECT_EQ(model_requests, 4) << run.output;

  // The trace opened from the link: its request and its spans.
  EXPECT_STREQ(seen["trace"].GetString(), "shown") << run.output;
  EXPECT_TRUE(absl::StrContains(seen["summary"].GetString(), traced));
  // Its latencies and its tokens by kind (the simulator reports usage, so
  // none is marked estimated).
  const std::string summary = seen["summary"].GetString();
  EXPECT_TRUE(absl::StrContains(summary, "queue ")) << summary;
  EXPECT_TRUE(absl::StrContains(summary, "upstream ")) << summary;
  EXPECT_TRUE(absl::StrContains(summary, "completion ")) << summary;
  EXPECT_FALSE(absl::StrContains(summary, "(est.)")) << summary;
  std::set<std::string> names;
  for (const auto& name : seen["spans"].GetArray())
    names.insert(name.GetString());
  EXPECT_TRUE(names.count("chat deepseek-chat")) << run.output;
  EXPECT_TRUE(names.count("route deepseek-chat")) << run.output;
  // The screenshot is kept beside the test binary as the run's artifact.
  EXPECT_GT(std::filesystem::file_size(screenshot), 10000u);
}

}  // namespace
}  // namespace sluice::testing
