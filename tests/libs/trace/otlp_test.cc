// OTLP/HTTP JSON: the encoding, and the exporter against a collector of
// ours on loopback (and one that refuses).
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "libs/http/server.h"
#include "libs/trace/otlp_http_exporter.h"
#include "libs/trace/otlp_json.h"
#include "rapidjson/document.h"
#include "tests/support/otlp_collector.h"

namespace sluice::trace {
namespace {

sluice::v1::Span MakeSpan(const std::string& service, const std::string& id) {
  sluice::v1::Span span;
  span.set_service(service);
  span.set_trace_id("0af7651916cd43dd8448eb211c80319c");
  span.set_span_id(id);
  span.set_parent_span_id("b7ad6b7169203331");
  span.set_name("chat deepseek-chat");
  span.set_kind(3);
  span.set_start_unix_nano(1765000000123456789);
  span.set_end_unix_nano(1765000000223456789);
  span.set_request_id("req_1");
  span.set_status_code(2);
  span.set_status_message("upstream 503");
  auto* model = span.add_attributes();
  model->set_key("gen_ai.request.model");
  model->set_string_value("deepseek-chat");
  auto* tokens = span.add_attributes();
  tokens->set_key("gen_ai.usage.input_tokens");
  tokens->set_int_value(42);
  return span;
}

sluice::v1::SpanBatch Batch(std::vector<sluice::v1::Span> spans) {
  sluice::v1::SpanBatch batch;
  for (auto& span : spans) *batch.add_spans() = std::move(span);
  return batch;
}

TEST(OtlpJsonTest, SpansAreGroupedByServiceInOtlpsJsonMapping) {
  std::string json =
      OtlpTracesJson(Batch({MakeSpan("sluice-router", "1111111111111111"),
                            MakeSpan("sluice-adapters", "2222222222222222"),
                            MakeSpan("sluice-router", "3333333333333333")}));
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  const auto& resources = doc["resourceSpans"];
  ASSERT_EQ(resources.Size(), 2u);
  // Services in name order: adapters, then router with its two spans.
  const auto& router = resources[1];
  EXPECT_STREQ(router["resource"]["attributes"][0]["key"].GetString(),
               "service.name");
  EXPECT_STREQ(
      router["resource"]["attributes"][0]["value"]["stringValue"].GetString(),
      "sluice-router");
  const auto& spans = router["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.Size(), 2u);
  const auto& span = spans[0];
  EXPECT_STREQ(span["traceId"].GetString(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_STREQ(span["spanId"].GetString(), "1111111111111111");
  EXPECT_STREQ(span["parentSpanId"].GetString(), "b7ad6b7169203331");
  EXPECT_EQ(span["kind"].GetInt(), 3);
  // 64-bit integers are strings in OTLP's JSON.
  EXPECT_STREQ(span["startTimeUnixNano"].GetString(), "1765000000123456789");
  EXPECT_STREQ(span["endTimeUnixNano"].GetString(), "1765000000223456789");
  EXPECT_EQ(span["status"]["code"].GetInt(), 2);
  EXPECT_STREQ(span["status"]["message"].GetString(), "upstream 503");
  const auto& attributes = span["attributes"];
  ASSERT_EQ(attributes.Size(), 3u);
  EXPECT_STREQ(attributes[0]["key"].GetString(), "sluice.request_id");
  EXPECT_STREQ(attributes[2]["key"].GetString(), "gen_ai.usage.input_tokens");
  EXPECT_STREQ(attributes[2]["value"]["intValue"].GetString(), "42");
}

TEST(OtlpHttpExporterTest, ACollectorReceivesWhatIsExported) {
  auto collector = testing::OtlpCollector::Start();
  ASSERT_TRUE(collector.ok()) << collector.status();
  auto exporter = OtlpHttpExporter::Create((*collector)->endpoint() + "/");
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  ASSERT_TRUE((*exporter)
                  ->Export(Batch({MakeSpan("sluice", "1111111111111111"),
                                  MakeSpan("sluice", "2222222222222222")}))
                  .ok());
  std::vector<testing::ReceivedSpan> received = (*collector)->spans();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ((*collector)->malformed(), 0);
  EXPECT_EQ(received[1].span_id, "2222222222222222");
  EXPECT_EQ(received[1].service, "sluice");
  EXPECT_EQ(received[1].Attribute("gen_ai.usage.input_tokens"), "42");
  EXPECT_EQ(received[1].Attribute("sluice.request_id"), "req_1");
}

TEST(OtlpHttpExporterTest, ARefusingOrAbsentCollectorIsAnError) {
  auto refusing =
      http::StartServer({}, [](http::Request, http::ResponseWriterPtr writer) {
        writer->Respond(503, {}, "busy");
      });
  ASSERT_TRUE(refusing.ok());
  auto exporter = OtlpHttpExporter::Create("http://127.0.0.1:" +
                                           std::to_string((*refusing)->port()));
  ASSERT_TRUE(exporter.ok());
  absl::Status status = (*exporter)->Export(Batch({MakeSpan("sluice", "1")}));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("503"), std::string::npos) << status;
  const uint16_t port = (*refusing)->port();
  (*refusing)->Shutdown();
  auto gone = OtlpHttpExporter::Create(
      "http://127.0.0.1:" + std::to_string(port) + "/v1/traces");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE((*gone)->Export(Batch({MakeSpan("sluice", "1")})).ok());
  EXPECT_EQ(OtlpHttpExporter::Create("collector:4318").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::trace
