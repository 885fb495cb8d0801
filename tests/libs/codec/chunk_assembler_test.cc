// A stream assembled equals the same question answered whole: both come
// from a real upstream simulator over HTTP and through our parsers.
#include "libs/codec/chunk_assembler.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/codec/openai_codec.h"
#include "tests/support/http_test_client.h"
#include "tools/upstream-sim/simulator.h"

namespace sluice::codec {
namespace {

class ChunkAssemblerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sim = sim::Simulator::Start(sim::SimulatorOptions{});
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = *std::move(sim);
  }

  std::string Post(const std::string& body) {
    testing::HttpAnswer answer = testing::HttpCall(
        "POST", absl::StrCat("http://127.0.0.1:", sim_->port(), "/v1/chat/completions"),
        {"Content-Type: application/json"}, body);
    EXPECT_EQ(answer.status, 200) << answer.body;
    return answer.body;
  }

  std::unique_ptr<sim::Simulator> sim_;
};

TEST_F(ChunkAssemblerTest, StreamAssemblesToTheWholeAnswer) {
  for (const char* model : {"deepseek-chat", "deepseek-reasoner"}) {
    std::string question = absl::StrCat(R"({"model":")", model,
                                        R"(","messages":[{"role":"user","content":"Why do rivers bend?"}])");
    absl::StatusOr<sluice::v1::ChatResponse> whole =
        ParseChatResponse(Post(absl::StrCat(question, "}")));
    ASSERT_TRUE(whole.ok()) << whole.status();
    ChunkAssembler assembler;
    int chunks = 0;
    for (const std::string& data : testing::SseData(Post(absl::StrCat(
             question, R"(,"stream":true,"stream_options":{"include_usage":true}})")))) {
      if (data == "[DONE]") continue;
      absl::StatusOr<sluice::v1::ChatChunk> chunk = ParseChatChunk(data);
      ASSERT_TRUE(chunk.ok()) << chunk.status() << data;
      assembler.Add(*chunk);
      ++chunks;
    }
    EXPECT_GT(chunks, 3);
    sluice::v1::ChatResponse assembled = assembler.Response();
    ASSERT_EQ(assembled.choices_size(), 1) << model;
    const auto& ours = assembled.choices(0);
    const auto& theirs = whole->choices(0);
    EXPECT_EQ(ours.message().role(), "assistant");
    EXPECT_EQ(ours.message().text(), theirs.message().text()) << model;
    EXPECT_EQ(ours.message().reasoning_content(), theirs.message().reasoning_content());
    EXPECT_EQ(ours.finish_reason(), theirs.finish_reason());
    EXPECT_EQ(assembled.usage().completion_tokens(), whole->usage().completion_tokens());
    EXPECT_FALSE(assembled.id().empty());
    EXPECT_EQ(assembled.model(), whole->model());
  }
}

TEST(ChunkAssemblerToolsTest, ToolCallArgumentsJoinByIndex) {
  ChunkAssembler assembler;
  auto delta = [&](int index, const char* id, const char* name, const char* args) {
    sluice::v1::ChatChunk chunk;
    auto* call = chunk.add_choices()->mutable_delta()->add_tool_calls();
    call->set_index(index);
    call->set_id(id);
    call->set_function_name(name);
    call->set_function_arguments(args);
    assembler.Add(chunk);
  };
  delta(0, "call_a", "get_weather", "{\"ci");
  delta(1, "call_b", "get_time", "{}");
  delta(0, "", "", "ty\":\"Oslo\"}");
  sluice::v1::ChatChunk last;
  last.add_choices()->set_finish_reason("tool_calls");
  assembler.Add(last);
  sluice::v1::ChatResponse response = assembler.Response();
  const auto& message = response.choices(0).message();
  ASSERT_EQ(message.tool_calls_size(), 2);
  EXPECT_EQ(message.tool_calls(0).id(), "call_a");
  EXPECT_EQ(message.tool_calls(0).function_arguments(), "{\"city\":\"Oslo\"}");
  EXPECT_EQ(message.tool_calls(1).function_name(), "get_time");
  EXPECT_FALSE(message.has_text());  // content stays null
  EXPECT_EQ(response.choices(0).finish_reason(), "tool_calls");
}

}  // namespace
}  // namespace sluice::codec
