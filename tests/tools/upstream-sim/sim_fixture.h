// A test fixture hosting the upstream simulator in-process on port 0.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/tools/upstream-sim/sim_client.h"
#include "tools/upstream-sim/simulator.h"

namespace sluice::sim::testing {

class SimTest : public ::testing::Test {
 protected:
  void SetUp() override { Restart(SimulatorOptions{}); }

  void Restart(const SimulatorOptions& options) {
    sim_.reset();
    auto sim = Simulator::Start(options);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = *std::move(sim);
  }

  Reply Post(const std::string& path, const std::string& body,
             std::vector<std::string> headers = {}) {
    Call call;
    call.path = path;
    call.body = body;
    call.headers = std::move(headers);
    return Send(sim_->port(), call);
  }
  Reply Chat(const std::string& body, std::vector<std::string> headers = {}) {
    return Post("/v1/chat/completions", body, std::move(headers));
  }
  Reply Messages(const std::string& body,
                 std::vector<std::string> headers = {}) {
    headers.push_back("anthropic-version: 2023-06-01");
    return Post("/v1/messages", body, std::move(headers));
  }
  Reply Get(const std::string& path) {
    Call call;
    call.method = "GET";
    call.path = path;
    return Send(sim_->port(), call);
  }

  static rapidjson::Document Json(const std::string& text) {
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    EXPECT_FALSE(doc.HasParseError()) << text;
    return doc;
  }

  std::unique_ptr<Simulator> sim_;
};

// Shorthands for reading JSON in assertions.
inline std::string Str(const rapidjson::Value& value) {
  return value.IsString() ? value.GetString() : "<not a string>";
}

}  // namespace sluice::sim::testing
