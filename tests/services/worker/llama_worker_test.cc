// The Worker component on the engine: chat in, chunks out, as adapters and
// the gRPC face see it.
#include "services/worker/llama_worker.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/host/call_context.h"
#include "libs/obs/metrics.h"
#include "services/worker/prefix_chain.h"
#include "tests/services/worker/tiny_model.h"

namespace sluice::worker {
namespace {

using sluice::v1::ChatChunk;
using sluice::v1::ChatRequest;

// Collects a stream, never full.
class Collector final : public host::Sink<ChatChunk> {
 public:
  void Start(host::FlowPtr flow) override { flow_ = std::move(flow); }
  bool Next(ChatChunk chunk) override {
    absl::MutexLock lock(&mu_);
    for (const auto& choice : chunk.choices()) {
      text_ += choice.delta().text();
      reasoning_ += choice.delta().reasoning_content();
      if (!choice.finish_reason().empty()) finish_ = choice.finish_reason();
    }
    if (chunk.has_usage()) usage_ = chunk.usage();
    ++chunks_;
    return true;
  }
  void Done(absl::Status status) override {
    {
      absl::MutexLock lock(&mu_);
      status_ = std::move(status);
    }
    done_.Notify();
  }
  void Wait() { ASSERT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(60))); }

  absl::Mutex mu_;
  host::FlowPtr flow_;
  std::string text_, reasoning_, finish_;
  sluice::v1::Usage usage_;
  int chunks_ = 0;
  absl::Status status_;
  absl::Notification done_;
};

// Says "full" at the first chunk and stays full until the test resumes it.
class StuckCollector final : public host::Sink<ChatChunk> {
 public:
  void Start(host::FlowPtr flow) override { flow_ = std::move(flow); }
  bool Next(ChatChunk chunk) override {
    absl::MutexLock lock(&mu_);
    for (const auto& choice : chunk.choices()) {
      if (!choice.finish_reason().empty()) finish_ = choice.finish_reason();
    }
    ++chunks_;
    return open_;
  }
  void Done(absl::Status status) override {
    {
      absl::MutexLock lock(&mu_);
      status_ = std::move(status);
    }
    done_.Notify();
  }
  void Open() {
    {
      absl::MutexLock lock(&mu_);
      open_ = true;
    }
    flow_->Resume();
  }

  absl::Mutex mu_;
  host::FlowPtr flow_;
  bool open_ = false;
  int chunks_ = 0;
  std::string finish_;
  absl::Status status_;
  absl::Notification done_;
};

class LlamaWorkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sluice::v1::WorkerConfig config;
    config.set_model_path(TinyModelPath());
    config.set_slots(2);
    config.set_slot_context(512);
    config.set_threads(2);
    metrics_ = new obs::MetricsRegistry();
    auto made = LlamaWorker::Create(config, *metrics_);
    ASSERT_TRUE(made.ok()) << made.status();
    worker_ = made->release();
  }

  static ChatRequest Chat(const std::string& user, int max_tokens) {
    ChatRequest request;
    request.set_model("local");
    auto* system = request.add_messages();
    system->set_role("system");
    system->set_text("You are terse.");
    auto* message = request.add_messages();
    message->set_role("user");
    message->set_text(user);
    request.set_max_tokens(max_tokens);
    request.set_temperature(0);
    return request;
  }

  static void Generate(ChatRequest request, Collector* out) {
    worker_->Generate(host::CallContext::Create({absl::Now() + absl::Seconds(60)}),
                      std::move(request), out);
    out->Wait();
  }

  static LlamaWorker* worker_;
  static obs::MetricsRegistry* metrics_;
};
LlamaWorker* LlamaWorkerTest::worker_ = nullptr;
obs::MetricsRegistry* LlamaWorkerTest::metrics_ = nullptr;

// The value of one series in Prometheus text, or -1.
double Series(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST_F(LlamaWorkerTest, StreamsTextWithExactUsage) {
  Collector out;
  Generate(Chat("Say something.", 12), &out);
  ASSERT_TRUE(out.status_.ok()) << out.status_;
  EXPECT_EQ(out.finish_, "length");
  EXPECT_EQ(out.usage_.completion_tokens(), 12);
  absl::StatusOr<std::string> prompt = worker_->RenderPrompt(Chat("Say something.", 12));
  ASSERT_TRUE(prompt.ok());
  // The Llama 3 template of the test model, with the assistant's turn open.
  EXPECT_NE(prompt->find("<|start_header_id|>assistant<|end_header_id|>"),
            std::string::npos);
  EXPECT_EQ(out.usage_.prompt_tokens(),
            static_cast<int64_t>(worker_->TokenizeText(*prompt, true)->size()));
  EXPECT_EQ(out.usage_.total_tokens(),
            out.usage_.prompt_tokens() + out.usage_.completion_tokens());
  EXPECT_FALSE(out.text_.empty());
}

TEST_F(LlamaWorkerTest, AStopStringEndsTheStreamBeforeIt) {
  Collector full;
  Generate(Chat("Tell a story.", 24), &full);
  ASSERT_TRUE(full.status_.ok());
  ASSERT_GE(full.text_.size(), 8u);
  // A stop string taken from the middle of the greedy answer.
  std::string stop = full.text_.substr(full.text_.size() / 2, 3);
  size_t at = full.text_.find(stop);
  ChatRequest request = Chat("Tell a story.", 24);
  request.add_stops(stop);
  Collector cut;
  Generate(request, &cut);
  ASSERT_TRUE(cut.status_.ok());
  EXPECT_EQ(cut.text_, full.text_.substr(0, at));
  EXPECT_EQ(cut.finish_, "stop");
  EXPECT_LT(cut.usage_.completion_tokens(), 24);
  // The second run reused the first one's prompt from a slot's cache.
  EXPECT_GT(cut.usage_.cached_tokens(), 0);
}

TEST_F(LlamaWorkerTest, AReaderThatWasFullWhenTheAnswerEndedStillGetsItAll) {
  StuckCollector out;
  worker_->Generate(host::CallContext::Create({absl::Now() + absl::Seconds(60)}),
                    Chat("Fill the window.", 6), &out);
  // The engine finishes while the reader holds a full window.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (worker_->engine().counters().requests_finished.load() == 0 ||
         worker_->engine().Stats().running > 0) {
    ASSERT_LT(absl::Now(), deadline);
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_FALSE(out.done_.HasBeenNotified());
  out.Open();
  ASSERT_TRUE(out.done_.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::MutexLock lock(&out.mu_);
  EXPECT_TRUE(out.status_.ok()) << out.status_;
  EXPECT_EQ(out.finish_, "length");
  // Role, tokens (some may share a chunk), finish, usage.
  EXPECT_GE(out.chunks_, 4);
}

TEST_F(LlamaWorkerTest, BadRequestsAreRefusedClearly) {
  Collector wrong_model;
  ChatRequest request = Chat("hi", 4);
  request.set_model("gpt-4o");
  Generate(request, &wrong_model);
  EXPECT_EQ(wrong_model.status_.code(), absl::StatusCode::kNotFound);

  Collector bad_bias;
  request = Chat("hi", 4);
  request.set_extra_json(R"({"logit_bias": {"-3": 5}})");
  Generate(request, &bad_bias);
  EXPECT_EQ(bad_bias.status_.code(), absl::StatusCode::kInvalidArgument);

  Collector too_long;
  std::string text;
  while (text.size() < 6000) text += "a long prompt ";
  Generate(Chat(text, 4), &too_long);
  EXPECT_EQ(too_long.status_.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(LlamaWorkerTest, LogitBiasAndTopKShapeTheDraw) {
  // A +100 bias on one token makes every greedy step pick it.
  absl::StatusOr<std::vector<llama_token>> hello = worker_->TokenizeText(" hello", false);
  ASSERT_TRUE(hello.ok());
  ASSERT_EQ(hello->size(), 1u);
  ChatRequest request = Chat("anything", 5);
  request.set_extra_json(absl::StrCat(R"({"logit_bias": {")", (*hello)[0],
                                      R"(": 100}, "top_k": 5})"));
  Collector out;
  Generate(request, &out);
  ASSERT_TRUE(out.status_.ok()) << out.status_;
  EXPECT_EQ(out.text_, " hello hello hello hello hello");
}

TEST_F(LlamaWorkerTest, CancellingTheCallEndsTheStream) {
  Collector out;
  auto context = host::CallContext::Create({absl::Now() + absl::Seconds(60)});
  worker_->Generate(context, Chat("go on forever", 400), &out);
  context->Cancel();
  out.Wait();
  EXPECT_EQ(out.status_.code(), absl::StatusCode::kCancelled);
}

TEST_F(LlamaWorkerTest, InfoReportsCapacityAndHeldPrefixes) {
  Collector out;
  ChatRequest request = Chat("Which prefixes?", 2);
  Generate(request, &out);
  absl::Notification done;
  absl::StatusOr<sluice::v1::WorkerInfo> info;
  worker_->Info(host::CallContext::Create({}),
                [&](absl::StatusOr<sluice::v1::WorkerInfo> answer) {
                  info = std::move(answer);
                  done.Notify();
                });
  done.WaitForNotification();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->model(), "local");
  EXPECT_EQ(info->slots(), 2);
  EXPECT_EQ(info->slot_context(), 512);
  // As vLLM counts it: cells of running requests (none now); the idle
  // slots' caches are reusable, and show as cached prompts.
  EXPECT_EQ(info->kv_used(), 0);
  EXPECT_EQ(info->kv_total(), 1024);
  EXPECT_GE(info->cached_prompts(), 1);
  EXPECT_EQ(info->running(), 0);
  std::vector<PrefixLink> chain = PrefixChain(request);
  ASSERT_EQ(chain.size(), 2u);
  for (const PrefixLink& link : chain) {
    EXPECT_NE(std::find(info->prefix_hashes().begin(), info->prefix_hashes().end(),
                        link.hash),
              info->prefix_hashes().end());
  }
}

TEST_F(LlamaWorkerTest, MetricsUseVllmNamesAndCountWhatHappened) {
  std::string before = metrics_->RenderPrometheusText();
  const std::string label = "{model_name=\"local\"}";
  double generated = std::max(0.0, Series(before, "sluice_worker_generation_tokens_total" + label));
  double queries = std::max(0.0, Series(before, "sluice_worker_prefix_cache_queries_total" + label));
  double hits = std::max(0.0, Series(before, "sluice_worker_prefix_cache_hits_total" + label));
  double ttft = std::max(0.0, Series(before, "sluice_worker_time_to_first_token_seconds_count" + label));
  Collector first, second;
  Generate(Chat("Count me.", 3), &first);
  Generate(Chat("Count me.", 3), &second);  // the same prompt: a prefix hit
  ASSERT_TRUE(second.status_.ok());
  std::string after = metrics_->RenderPrometheusText();
  EXPECT_EQ(Series(after, "sluice_worker_generation_tokens_total" + label), generated + 6);
  EXPECT_EQ(Series(after, "sluice_worker_prefix_cache_queries_total" + label),
            queries + static_cast<double>(first.usage_.prompt_tokens() +
                                          second.usage_.prompt_tokens()));
  EXPECT_EQ(Series(after, "sluice_worker_prefix_cache_hits_total" + label),
            hits + static_cast<double>(first.usage_.cached_tokens() +
                                       second.usage_.cached_tokens()));
  EXPECT_GT(second.usage_.cached_tokens(), 0);
  EXPECT_EQ(Series(after, "sluice_worker_time_to_first_token_seconds_count" + label), ttft + 2);
  EXPECT_EQ(Series(after, "sluice_worker_num_requests_running" + label), 0);
  EXPECT_GE(Series(after, "sluice_worker_request_success_total{finished_reason=\"length\",model_name=\"local\"}"), 2);
}

}  // namespace
}  // namespace sluice::worker
