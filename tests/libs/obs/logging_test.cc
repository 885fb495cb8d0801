// Structured logging: each record is one valid JSON line with the context.
#include "libs/obs/logging.h"

#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "spdlog/sinks/ostream_sink.h"

namespace sluice::obs {
namespace {

// Installs a default logger writing to a string; restores the old one.
class CapturedLog {
 public:
  explicit CapturedLog(bool json = true) : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_st>(out_));
    logger->set_formatter(NewLogFormatter(json));
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }

  std::vector<std::string> Lines() const {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  std::string Text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(LoggingTest, StructuredRecordIsOneValidJsonLine) {
  CapturedLog log;
  LogInfo({"req_abc", "0af7651916cd43dd8448eb211c80319c"},
          "said \"hi\"\nthen left\\",
          {{"route", "sim/x"}, {"ctl", "a\x01\tb"}});
  ASSERT_EQ(log.Lines().size(), 1u);
  EXPECT_EQ(log.Text().back(), '\n');

  rapidjson::Document doc;
  doc.Parse(log.Lines()[0].c_str());
  ASSERT_FALSE(doc.HasParseError()) << log.Lines()[0];
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["level"].GetString(), "info");
  EXPECT_STREQ(doc["msg"].GetString(), "said \"hi\"\nthen left\\");
  EXPECT_STREQ(doc["logger"].GetString(), "test");
  EXPECT_STREQ(doc["request_id"].GetString(), "req_abc");
  EXPECT_STREQ(doc["trace_id"].GetString(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_STREQ(doc["route"].GetString(), "sim/x");
  EXPECT_STREQ(doc["ctl"].GetString(), "a\x01\tb");
  EXPECT_TRUE(
      std::regex_match(doc["ts"].GetString(),
                       std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << doc["ts"].GetString();
  // Fields come in order after the fixed keys.
  EXPECT_EQ(log.Lines()[0].rfind("{\"ts\":\"", 0), 0u);
}

TEST(LoggingTest, LevelsAndEmptyContext) {
  CapturedLog log;
  LogDebug({}, "hidden");
  LogWarn({}, "careful");
  LogError({"req_1", ""}, "broken");
  std::vector<std::string> lines = log.Lines();
  ASSERT_EQ(lines.size(), 2u);
  rapidjson::Document warn;
  warn.Parse(lines[0].c_str());
  ASSERT_FALSE(warn.HasParseError());
  EXPECT_STREQ(warn["level"].GetString(), "warn");
  EXPECT_FALSE(warn.HasMember("request_id"));
  EXPECT_FALSE(warn.HasMember("trace_id"));
  rapidjson::Document error;
  error.Parse(lines[1].c_str());
  ASSERT_FALSE(error.HasParseError());
  EXPECT_STREQ(error["level"].GetString(), "error");
  EXPECT_STREQ(error["request_id"].GetString(), "req_1");
  EXPECT_FALSE(error.HasMember("trace_id"));
}

TEST(LoggingTest, PlainSpdlogCallsAreJsonToo) {
  CapturedLog log;
  spdlog::warn("plain {} \"quoted\"", 42);
  LogInfo({"req_2", ""}, "after");
  std::vector<std::string> lines = log.Lines();
  ASSERT_EQ(lines.size(), 2u);
  rapidjson::Document doc;
  doc.Parse(lines[0].c_str());
  ASSERT_FALSE(doc.HasParseError()) << lines[0];
  EXPECT_STREQ(doc["msg"].GetString(), "plain 42 \"quoted\"");
  EXPECT_FALSE(doc.HasMember("request_id"));
  doc.Parse(lines[1].c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["request_id"].GetString(), "req_2");
}

TEST(LoggingTest, InvalidUtf8IsReplaced) {
  std::string out;
  AppendJsonString("ok \xc3\xa9 bad \xff\xc3 end", &out);
  EXPECT_EQ(out, "\"ok \xc3\xa9 bad \\ufffd\\ufffd end\"");
  rapidjson::Document doc;
  doc.Parse(out.c_str());
  EXPECT_FALSE(doc.HasParseError());
}

TEST(LoggingTest, TextFormat) {
  CapturedLog log(/*json=*/false);
  LogInfo({"req_3", "abc"}, "hello", {{"k", "v"}});
  std::vector<std::string> lines = log.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex(R"(\S+Z info \[test\] hello request_id=req_3 )"
                           R"(trace_id=abc k=v)")))
      << lines[0];
}

}  // namespace
}  // namespace sluice::obs
