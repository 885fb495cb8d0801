// Accounting you can trust (issue 13): every request is metered under an id
// of sluice's whatever id its client sends, and a broker outage, with the
// gateway killed and restarted in the middle of it, loses no usage event
// and keeps Kafka off the request path.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "services/metering/metering_impl.h"
#include "services/metering/sqlite_usage_store.h"
#include "tests/integration/gateway_fixture.h"
#include "tests/support/http_test_client.h"

namespace sluice::testing {
namespace {

constexpr char kUnary[] =
    R"({"model":"deepseek-chat","messages":[{"role":"user","content":"Hi"}]})";
constexpr char kStream[] =
    R"({"model":"deepseek-chat","stream":true,"stream_options":)"
    R"({"include_usage":true},"messages":[{"role":"user","content":"Hi"}]})";

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

// A tenant's requests and stored events as /v1/usage reports them, once
// it reports at least `requests`.
std::pair<int64_t, int64_t> Metered(
    const Gateway& gateway, const std::string& key, int requests,
    absl::Duration timeout = absl::Seconds(30)) {
  rapidjson::Document usage = WaitForUsage(gateway, requests, key, timeout);
  int64_t total = 0;
  if (!usage.IsObject() || !usage.HasMember("data")) return {-1, -1};
  for (const auto& row : usage["data"].GetArray()) {
    total += row["requests"].GetInt64();
  }
  return {total, usage["events"].GetInt64()};
}

// The value of an unlabelled series in the Prometheus text of /metrics, or
// -1 when absent.
double MetricValue(const Gateway& gateway, const std::string& name) {
  HttpAnswer metrics = HttpCall("GET", gateway.http_base() + "/metrics");
  for (absl::string_view line : absl::StrSplit(metrics.body, '\n')) {
    if (!absl::StartsWith(line, name + " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(line.substr(name.size() + 1), &value)) return value;
  }
  return -1;
}

class MeteringTest : public ::testing::TestWithParam<Gateway::Layout> {};

TEST_P(MeteringTest, EveryRequestIsMeteredWhateverIdItsClientSends) {
  auto gateway = Gateway::Start(GetParam());
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  std::set<std::string> ids;
  auto check = [&](const HttpAnswer& answer, const std::string& client_id) {
    EXPECT_EQ(answer.status, 200) << answer.body << answer.error;
    std::string id = answer.Header("x-request-id");
    EXPECT_TRUE(absl::StartsWith(id, "req_")) << id;
    EXPECT_TRUE(ids.insert(id).second) << id << " given twice";
    EXPECT_EQ(answer.Header("x-client-request-id"), client_id);
  };
  // Two tenants send the same id, and each reuses it; a caller with a bad
  // key sends it too (metered under no tenant, it pre-empts nothing).
  for (int i = 0; i < 3; ++i) {
    check(Chat(**gateway, kDemoKey, i == 1 ? kStream : kUnary,
               {"x-request-id: shared-id"}),
          "shared-id");
    check(Chat(**gateway, kAcmeKey, kUnary, {"x-request-id: shared-id"}),
          "shared-id");
  }
  EXPECT_EQ(Chat(**gateway, "sk-not-a-key", kUnary, {"x-request-id: shared-id"})
                .status,
            401);
  // OpenAI's header for the client's own id wins over x-request-id.
  check(Chat(**gateway, kDemoKey, kStream,
             {"x-client-request-id: mine-1", "x-request-id: shared-id"}),
        "mine-1");
  check(Chat(**gateway, kDemoKey, kUnary), "");

  auto [demo_requests, demo_events] = Metered(**gateway, kDemoKey, 5);
  EXPECT_EQ(demo_requests, 5);
  EXPECT_EQ(demo_events, 5);  // its own events only, no global figure
  auto [acme_requests, acme_events] = Metered(**gateway, kAcmeKey, 3);
  EXPECT_EQ(acme_requests, 3);
  EXPECT_EQ(acme_events, 3);
}

rapidjson::Document Json(const HttpAnswer& answer) {
  rapidjson::Document doc;
  doc.Parse(answer.body.c_str());
  EXPECT_FALSE(doc.HasParseError()) << answer.body;
  return doc;
}

HttpAnswer Get(const Gateway& gateway, const std::string& key,
               const std::string& path) {
  return HttpCall("GET", gateway.http_base() + path,
                  {absl::StrCat("Authorization: Bearer ", key)});
}

TEST_P(MeteringTest, ReportsAndOneRequestsUsageForTheirViewersOnly) {
  GatewayOptions options;
  // Prices high enough that a short answer costs whole micro-dollars.
  options.deepseek_prices = "input_usd_per_mtok: 100, output_usd_per_mtok: 200";
  auto gateway = Gateway::Start(GetParam(), options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  std::string stream_id;
  for (int i = 0; i < 4; ++i) {
    HttpAnswer answer = Chat(**gateway, kDemoKey, i == 0 ? kStream : kUnary);
    ASSERT_EQ(answer.status, 200) << answer.body;
    if (i == 0) stream_id = answer.Header("x-request-id");
  }
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(Chat(**gateway, kAcmeKey, kUnary).status, 200);
  }
  ASSERT_EQ(Metered(**gateway, kDemoKey, 4).first, 4);
  ASSERT_EQ(Metered(**gateway, kAcmeKey, 2).first, 2);
  // OpenTelemetry's GenAI metrics, Prometheus-style, on the edge.
  HttpAnswer metrics = HttpCall("GET", (*gateway)->http_base() + "/metrics");
  const std::string served =
      "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"sim\","
      "gen_ai_request_model=\"deepseek-chat\","
      "gen_ai_response_model=\"deepseek-chat\"";
  EXPECT_NE(
      metrics.body.find("gen_ai_client_operation_duration_seconds_count{" +
                        served + "} 6"),
      std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("gen_ai_client_token_usage_count{" + served +
                              ",gen_ai_token_type=\"input\"} 6"),
            std::string::npos);

  // A tenant's report per minute and model covers its own requests.
  HttpAnswer mine =
      Get(**gateway, kDemoKey, "/v1/usage?granularity=minute&group_by=model");
  ASSERT_EQ(mine.status, 200) << mine.body;
  rapidjson::Document report = Json(mine);
  EXPECT_STREQ(report["object"].GetString(), "usage.report");
  EXPECT_STREQ(report["granularity"].GetString(), "minute");
  int64_t requests = 0;
  for (const auto& row : report["data"].GetArray()) {
    EXPECT_TRUE(row.HasMember("bucket_start"));
    EXPECT_STREQ(row["model"].GetString(), "deepseek-chat");
    EXPECT_FALSE(row.HasMember("tenant"));
    EXPECT_GT(row["price_micro_usd"].GetInt64(), 0);
    requests += row["requests"].GetInt64();
  }
  EXPECT_EQ(requests, 4);
  // Another tenant's figures are not its business.
  EXPECT_EQ(Get(**gateway, kDemoKey, "/v1/usage?tenant=acme").status, 403);
  // The admin key sees every tenant.
  HttpAnswer all = Get(**gateway, kAdminKey, "/v1/usage?group_by=tenant");
  ASSERT_EQ(all.status, 200) << all.body;
  report = Json(all);
  std::map<std::string, int64_t> per_tenant;
  for (const auto& row : report["data"].GetArray()) {
    per_tenant[row["tenant"].GetString()] += row["requests"].GetInt64();
  }
  EXPECT_EQ(per_tenant["demo"], 4);
  EXPECT_EQ(per_tenant["acme"], 2);
  // CSV for spreadsheets.
  HttpAnswer csv =
      Get(**gateway, kAdminKey, "/v1/usage?format=csv&group_by=tenant");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_TRUE(absl::StartsWith(csv.Header("content-type"), "text/csv"));
  std::vector<std::string> lines =
      absl::StrSplit(csv.body, "\r\n", absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << csv.body;
  EXPECT_TRUE(absl::StartsWith(lines[0], "bucket_start,tenant,key_id,model"));
  EXPECT_TRUE(absl::StartsWith(lines[1], ",acme,,,,2,")) << lines[1];
  // Malformed parameters are the client's error, named.
  HttpAnswer bad = Get(**gateway, kDemoKey, "/v1/usage?granularity=week");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(std::string(Json(bad)["error"]["param"].GetString()),
            "granularity");
  EXPECT_EQ(Get(**gateway, kDemoKey, "/v1/usage?group_by=colour").status, 400);

  // One request's event, for its tenant and the admin only.
  HttpAnswer one = Get(**gateway, kDemoKey, "/v1/usage/requests/" + stream_id);
  ASSERT_EQ(one.status, 200) << one.body;
  rapidjson::Document event = Json(one);
  EXPECT_STREQ(event["event"]["request_id"].GetString(), stream_id.c_str());
  EXPECT_STREQ(event["event"]["tenant"].GetString(), "demo");
  EXPECT_TRUE(event["event"]["stream"].GetBool());
  EXPECT_EQ(Get(**gateway, kAcmeKey, "/v1/usage/requests/" + stream_id).status,
            404);
  EXPECT_EQ(Get(**gateway, kAdminKey, "/v1/usage/requests/" + stream_id).status,
            200);
  EXPECT_EQ(Get(**gateway, kDemoKey, "/v1/usage/requests/req_nope").status,
            404);
}

INSTANTIATE_TEST_SUITE_P(Layouts, MeteringTest,
                         ::testing::Values(Gateway::Layout::kOneProcess,
                                           Gateway::Layout::kSplit),
                         [](const auto& info) {
                           return info.param == Gateway::Layout::kOneProcess
                                      ? "OneProcess"
                                      : "Split";
                         });

// Proto3 JSON prints 64-bit integers as strings.
int64_t Int64Member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject() || !object.HasMember(name)) return 0;
  const rapidjson::Value& value = object[name];
  if (value.IsInt64()) return value.GetInt64();
  int64_t parsed = 0;
  return value.IsString() && absl::SimpleAtoi(value.GetString(), &parsed)
             ? parsed
             : -1;
}

// An event's latencies apart: the time a call waited for the provider's one
// slot is queue time, neither the upstream's nor sluice's overhead.
TEST_P(MeteringTest, AnEventSaysHowLongItQueuedAndWaitedUpstream) {
  constexpr int64_t kTtftUs = 300000;
  GatewayOptions options;
  options.sim_limits = "{max_concurrency: 1}";
  options.sim_ttft = absl::Microseconds(kTtftUs);
  auto gateway = Gateway::Start(GetParam(), options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  std::string ids[2];
  {
    std::vector<std::thread> clients;
    for (int i = 0; i < 2; ++i) {
      clients.emplace_back([&, i] {
        HttpAnswer answer = Chat(**gateway, kDemoKey, i == 0 ? kUnary : kStream);
        EXPECT_EQ(answer.status, 200) << answer.body;
        ids[i] = answer.Header("x-request-id");
      });
    }
    for (std::thread& client : clients) client.join();
  }
  ASSERT_EQ(Metered(**gateway, kDemoKey, 2).first, 2);
  int64_t queued_total = 0;
  for (const std::string& id : ids) {
    HttpAnswer one = Get(**gateway, kDemoKey, "/v1/usage/requests/" + id);
    ASSERT_EQ(one.status, 200) << one.body;
    rapidjson::Document doc = Json(one);
    const rapidjson::Value& event = doc["event"];
    const rapidjson::Value& decision = event["decision"];
    const int64_t queue_us = Int64Member(decision, "queue_us");
    const int64_t upstream_us = Int64Member(decision, "upstream_us");
    const int64_t latency_ms = Int64Member(event, "latency_ms");
    queued_total += queue_us;
    // Each waited its own first token upstream, and no more than its
    // whole time.
    EXPECT_GE(upstream_us, kTtftUs - 1000) << one.body;
    EXPECT_LE((queue_us + upstream_us) / 1000, latency_ms + 1) << one.body;
    // Sluice's own share is what is left: far below the queue wait.
    EXPECT_LT(Int64Member(event, "overhead_us"), kTtftUs / 2) << one.body;
    EXPECT_GT(Int64Member(event, "time_to_first_token_ms"), 0) << one.body;
  }
  // One of the two waited for the other's call (at least its first token's
  // time, less the head start the other's client had) before its own.
  EXPECT_GE(queued_total, kTtftUs / 3);
}

// The arrivals the simulator logged, in order: whether each was answered
// whole (its usage written to a client still there).
std::vector<bool> SimAnswered(const Gateway& gateway) {
  HttpAnswer stats = HttpCall("GET", gateway.sim_base() + "/sim/stats");
  rapidjson::Document doc;
  doc.Parse(stats.body.c_str());
  std::vector<bool> answered;
  if (!doc.IsObject() || !doc.HasMember("arrivals")) return answered;
  for (const auto& arrival : doc["arrivals"].GetArray()) {
    answered.push_back(arrival["sent_usage"].GetBool());
  }
  return answered;
}

// A unary client that leaves before its answer: the upstream call is cut
// (in both layouts, across processes too), so the provider's answer is
// never read (nor paid for past the cut), and the request is metered once,
// as the client's close (499).
TEST_P(MeteringTest, AUnaryClientThatLeavesCutsItsUpstreamCall) {
  GatewayOptions options;
  options.sim_ttft = absl::Milliseconds(1500);
  auto gateway = Gateway::Start(GetParam(), options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  HttpAnswer left = HttpCallWithin(
      "POST", (*gateway)->http_base() + "/v1/chat/completions",
      {absl::StrCat("Authorization: Bearer ", kDemoKey),
       "Content-Type: application/json"},
      kUnary, 300);
  ASSERT_EQ(left.status, 0) << "the client did not leave: " << left.body;
  rapidjson::Document usage = WaitForUsage(**gateway, 1, kDemoKey);
  ASSERT_TRUE(usage.IsObject() && usage.HasMember("data")) << "not metered";
  ASSERT_EQ(usage["data"].Size(), 1u);
  EXPECT_EQ(usage["data"][0]["requests"].GetInt64(), 1);
  // Errors by kind: the client's close.
  rapidjson::Document report =
      Json(Get(**gateway, kDemoKey, "/v1/usage?group_by=model"));
  ASSERT_TRUE(report.IsObject() && report.HasMember("data")) << "no report";
  ASSERT_EQ(report["data"].Size(), 1u);
  EXPECT_EQ(report["data"][0]["cancelled"].GetInt64(), 1);
  EXPECT_EQ(report["data"][0]["server_errors"].GetInt64(), 0);
  // A second request to the same upstream, answered: its answer comes
  // after the first one's was due (same delay, later start), so by then
  // the simulator has tried to answer the first.
  ASSERT_EQ(Chat(**gateway, kDemoKey, kUnary).status, 200);
  std::vector<bool> answered = SimAnswered(**gateway);
  ASSERT_EQ(answered.size(), 2u);
  EXPECT_FALSE(answered[0]) << "the upstream answered a call nobody waited for";
  EXPECT_TRUE(answered[1]);
}

TEST(MeteringOutageTest, ABrokerOutageAcrossARestartLosesNoUsage) {
  GatewayOptions options;
  // Events wait half a second for the broker in memory, then on disk.
  options.usage_delivery_timeout = absl::Milliseconds(500);
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  // Metering is running (it consumed one event) before the outage.
  ASSERT_EQ(Chat(**gateway, kDemoKey, kUnary).status, 200);
  ASSERT_EQ(Metered(**gateway, kDemoKey, 1).first, 1);

  Subprocess& broker = (*gateway)->broker_process();
  ::kill(broker.pid(), SIGUSR1);
  ASSERT_TRUE(broker.WaitForLine("FAULT brokers down", absl::Seconds(10)).ok());
  // The stated bound: with the simulator answering at once, no request
  // takes a second while the broker is away (Kafka is off the request
  // path; before, a full producer queue held request threads for 2 s).
  constexpr int kDuringOutage = 40;
  absl::Duration slowest;
  for (int i = 0; i < kDuringOutage; ++i) {
    absl::Time start = absl::Now();
    HttpAnswer answer = Chat(**gateway, i % 3 == 0 ? kAcmeKey : kDemoKey,
                             i % 2 == 0 ? kStream : kUnary);
    slowest = std::max(slowest, absl::Now() - start);
    ASSERT_EQ(answer.status, 200) << answer.body << answer.error;
  }
  EXPECT_LT(slowest, absl::Seconds(1));
  // Every event of the outage is on disk (past the half second in memory).
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (MetricValue(**gateway, "sluice_usage_spool_events") < kDuringOutage &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_GE(MetricValue(**gateway, "sluice_usage_spool_events"), kDuringOutage);

  // Killed (nothing flushed) and started again while the broker is still
  // away; then the broker comes back.
  ASSERT_TRUE((*gateway)->KillAndRestart().ok());
  ::kill(broker.pid(), SIGUSR2);
  ASSERT_TRUE(broker.WaitForLine("FAULT brokers up", absl::Seconds(10)).ok());

  int acme = 0;
  for (int i = 0; i < kDuringOutage; ++i) acme += i % 3 == 0 ? 1 : 0;
  const int demo = 1 + kDuringOutage - acme;
  EXPECT_EQ(Metered(**gateway, kDemoKey, demo, absl::Seconds(90)).first, demo);
  EXPECT_EQ(Metered(**gateway, kAcmeKey, acme, absl::Seconds(30)).first, acme);
  deadline = absl::Now() + absl::Seconds(20);
  while (MetricValue(**gateway, "sluice_usage_spool_events") != 0 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(MetricValue(**gateway, "sluice_usage_spool_events"), 0);
  EXPECT_LE(MetricValue(**gateway, "sluice_usage_events_dropped_total"), 0);

  // Replaying sluice.usage from offset 0 into a fresh metering (a store and
  // consumer group of its own) gives the same totals, duplicates from the
  // outage included.
  char pattern[] = "/tmp/sluice-replay.XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  sluice::v1::Config config;
  config.mutable_metering()->set_sqlite_path(std::string(pattern) + "/m.db");
  config.mutable_metering()->set_consumer_group("replay");
  auto replay = metering::MeteringImpl::Create(config, (*gateway)->brokers());
  ASSERT_TRUE(replay.ok()) << replay.status();
  absl::StatusOr<metering::UsageStorePtr> replayed =
      metering::SqliteUsageStore::Open(std::string(pattern) + "/m.db");
  ASSERT_TRUE(replayed.ok());
  deadline = absl::Now() + absl::Seconds(60);
  int64_t events = 0;
  while (absl::Now() < deadline) {
    absl::StatusOr<sluice::v1::UsageReport> totals = (*replayed)->Totals("");
    if (totals.ok()) events = totals->events();
    if (events >= demo + acme) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(events, demo + acme);
  for (const auto& [key, count] :
       {std::pair<std::string, int>{kDemoKey, demo}, {kAcmeKey, acme}}) {
    rapidjson::Document live = WaitForUsage(**gateway, count, key);
    absl::StatusOr<sluice::v1::UsageReport> again =
        (*replayed)->Totals(key == kDemoKey ? "demo" : "acme");
    ASSERT_TRUE(again.ok());
    ASSERT_EQ(again->totals_size(), 1);
    const auto& row = live["data"].GetArray()[0];
    EXPECT_EQ(again->totals(0).requests(), row["requests"].GetInt64());
    EXPECT_EQ(again->totals(0).prompt_tokens(),
              row["prompt_tokens"].GetInt64());
    EXPECT_EQ(again->totals(0).completion_tokens(),
              row["completion_tokens"].GetInt64());
    EXPECT_EQ(again->totals(0).price_micro_usd(),
              row["price_micro_usd"].GetInt64());
  }
  (*replay)->Stop();
  std::filesystem::remove_all(pattern);
}

// Latencies of one load phase, in order of completion.
struct PhaseLatencies {
  std::vector<absl::Duration> all;
  int failed = 0;
  std::string failures;  // the first few: status, curl's error, body

  absl::Duration Quantile(double q) const {
    if (all.empty()) return absl::ZeroDuration();
    std::vector<absl::Duration> sorted = all;
    std::sort(sorted.begin(), sorted.end());
    return sorted[static_cast<size_t>(q * (sorted.size() - 1))];
  }
};

// `clients` threads each send a request every `pace` (demo and acme,
// unary and streamed in turn) until `until`.
PhaseLatencies Load(const Gateway& gateway, int clients, absl::Duration pace,
                    absl::Time until) {
  PhaseLatencies latencies;
  absl::Mutex mu;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; absl::Now() < until; ++i) {
        const absl::Time start = absl::Now();
        HttpAnswer answer = Chat(gateway, (c + i) % 3 == 0 ? kAcmeKey : kDemoKey,
                                 i % 2 == 0 ? kStream : kUnary);
        const absl::Duration took = absl::Now() - start;
        {
          absl::MutexLock lock(&mu);
          latencies.all.push_back(took);
          if (answer.status != 200 && ++latencies.failed <= 3) {
            absl::StrAppend(&latencies.failures, answer.status, " ",
                            answer.error, " ", answer.body, " at ",
                            absl::FormatTime(absl::Now()), " stream=", i % 2 == 0, "\n");
          }
        }
        absl::SleepFor(std::max(absl::ZeroDuration(), pace - took));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return latencies;
}

// Issue 13's outage: the broker is down for a minute while requests keep
// coming (four clients, about 100 requests a second). No request slows past
// the stated bound (a second, with the simulator answering at once), and
// after the gateway is killed and restarted during the outage and the
// broker comes back, every request of the run is metered exactly once.
TEST(MeteringOutageTest, ABrokerDownForAMinuteUnderLoadSlowsNothingAndLosesNothing) {
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  constexpr int kClients = 4;
  const absl::Duration pace = absl::Milliseconds(40);
  PhaseLatencies before =
      Load(**gateway, kClients, pace, absl::Now() + absl::Seconds(5));
  ASSERT_EQ(before.failed, 0) << before.failures;

  Subprocess& broker = (*gateway)->broker_process();
  ::kill(broker.pid(), SIGUSR1);
  ASSERT_TRUE(broker.WaitForLine("FAULT brokers down", absl::Seconds(10)).ok());
  const absl::Time outage_start = absl::Now();
  PhaseLatencies during =
      Load(**gateway, kClients, pace, outage_start + absl::Seconds(60));
  ASSERT_EQ(during.failed, 0) << during.failures;
  const int sent = static_cast<int>(before.all.size() + during.all.size());
  std::printf(
      "outage under load: %zu requests before (p50 %.1f ms, p99 %.1f ms, max "
      "%.1f ms), %zu during a %.0f s outage (p50 %.1f ms, p99 %.1f ms, max "
      "%.1f ms)\n",
      before.all.size(), absl::ToDoubleMilliseconds(before.Quantile(0.5)),
      absl::ToDoubleMilliseconds(before.Quantile(0.99)),
      absl::ToDoubleMilliseconds(before.Quantile(1)), during.all.size(),
      absl::ToDoubleSeconds(absl::Now() - outage_start),
      absl::ToDoubleMilliseconds(during.Quantile(0.5)),
      absl::ToDoubleMilliseconds(during.Quantile(0.99)),
      absl::ToDoubleMilliseconds(during.Quantile(1)));
  EXPECT_LT(during.Quantile(1), absl::Seconds(1));

  // Every event of the outage reaches the disk spool (after the producer's
  // 10 s in memory); the gateway is then killed and started again, the
  // broker still away.
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (MetricValue(**gateway, "sluice_usage_spool_events") <
             static_cast<double>(during.all.size()) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_GE(MetricValue(**gateway, "sluice_usage_spool_events"),
            static_cast<double>(during.all.size()));
  ASSERT_TRUE((*gateway)->KillAndRestart().ok());
  ::kill(broker.pid(), SIGUSR2);
  ASSERT_TRUE(broker.WaitForLine("FAULT brokers up", absl::Seconds(10)).ok());

  auto [demo, demo_events] = Metered(**gateway, kDemoKey, 1, absl::Seconds(5));
  auto [acme, acme_events] = Metered(**gateway, kAcmeKey, 1, absl::Seconds(5));
  deadline = absl::Now() + absl::Seconds(120);
  while (demo + acme < sent && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(500));
    std::tie(demo, demo_events) = Metered(**gateway, kDemoKey, 1);
    std::tie(acme, acme_events) = Metered(**gateway, kAcmeKey, 1);
  }
  EXPECT_EQ(demo + acme, sent);
  EXPECT_EQ(demo_events + acme_events, sent);
  EXPECT_LE(MetricValue(**gateway, "sluice_usage_events_dropped_total"), 0);
}

// A tenant's budget, kept in process, holds after the gateway is killed and
// restarted: the ledger starts from what metering settled.
TEST(MeteringBudgetTest, ABudgetHoldsAcrossARestart) {
  GatewayOptions options;
  // Every answer is exactly its 20 tokens at $10/Mtok: 200 micro-USD, as
  // much as its reservation, so the ledger never waits on a settlement.
  options.deepseek_prices = "output_usd_per_mtok: 10";
  options.sim_fill_to_max_tokens = true;
  options.acme_limits = "{budget_usd: 0.0006}";
  auto gateway = Gateway::Start(Gateway::Layout::kOneProcess, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  constexpr char kTwenty[] = R"({"model":"deepseek-chat","max_tokens":20,)"
                             R"("messages":[{"role":"user","content":"Hi"}]})";
  int served = 0;
  HttpAnswer answer;
  for (int i = 0; i < 10; ++i) {
    answer = Chat(**gateway, kAcmeKey, kTwenty);
    if (answer.status != 200) break;
    ++served;
  }
  EXPECT_EQ(served, 3);
  EXPECT_EQ(answer.status, 429) << answer.body;
  // Metering has the three answers (and the refusal), then the restart.
  ASSERT_EQ(Metered(**gateway, kAcmeKey, 4).first, 4);
  ASSERT_TRUE((*gateway)->KillAndRestart().ok());
  HttpAnswer after = Chat(**gateway, kAcmeKey, kTwenty);
  EXPECT_EQ(after.status, 429) << after.body;
  EXPECT_NE(after.body.find("insufficient_quota"), std::string::npos)
      << after.body;
  // Another tenant is not affected.
  EXPECT_EQ(Chat(**gateway, kDemoKey, kTwenty).status, 200);
}

}  // namespace
}  // namespace sluice::testing
