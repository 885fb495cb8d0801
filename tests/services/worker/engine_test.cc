// The engine on a real llama.cpp model (a small random-weight one written
// for the test): batching must not change what any sequence computes.
#include "services/worker/engine/engine.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/services/worker/tiny_model.h"

namespace sluice::worker {
namespace {

EngineOptions Options(int slots, int step_tokens = 64, int slot_context = 1024) {
  EngineOptions options;
  options.model_path = TinyModelPath();
  options.slots = slots;
  options.step_tokens = step_tokens;
  options.slot_context = slot_context;
  options.threads = 2;
  return options;
}

std::unique_ptr<Engine> MakeEngine(const EngineOptions& options) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

std::unique_ptr<Engine> MakeEngine(int slots, int step_tokens = 64,
                                   int slot_context = 1024) {
  return MakeEngine(Options(slots, step_tokens, slot_context));
}

// A system prompt of some 600 tokens: many steps of 32 to read.
std::string LongSystemPrompt() {
  std::string text = "A shared system prompt. ";
  while (text.size() < 2400) text += "Rules of the house, stated at length. ";
  return text;
}

std::vector<llama_token> Tokens(Engine& engine, const std::string& text) {
  std::vector<llama_token> tokens(text.size() + 8);
  int n = llama_tokenize(engine.vocab(), text.data(),
                         static_cast<int32_t>(text.size()), tokens.data(),
                         static_cast<int32_t>(tokens.size()), true, true);
  EXPECT_GT(n, 0);
  tokens.resize(n > 0 ? n : 0);
  return tokens;
}

// What one request produced, filled on the engine's thread.
struct GenRun {
  absl::Mutex mu;
  std::vector<llama_token> tokens;
  absl::Notification done;
  GenerationResult result;
  // Stop after this many tokens (as a stop string would); 0: never.
  int stop_after = 0;
  // When it ended, in the order of all runs' ends (on the engine's thread).
  int ended_as = 0;
  // The engine's thread waits inside the callback of token `hold_at` until
  // `resume` is notified: what the test does meanwhile happens while this
  // run is certainly still in its slot.
  int hold_at = 0;
  absl::Notification resume;
  static inline std::atomic<int> ends{0};

  int count() {
    absl::MutexLock lock(&mu);
    return static_cast<int>(tokens.size());
  }
  std::vector<llama_token> Wait() {
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
    absl::MutexLock lock(&mu);
    return tokens;
  }
  // Waits until at least `n` tokens came (or the run ended).
  bool WaitFor(int n) {
    absl::MutexLock lock(&mu);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return static_cast<int>(tokens.size()) >= n || done.HasBeenNotified();
    };
    return mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(60)) &&
           static_cast<int>(tokens.size()) >= n;
  }
};

GenerationRequest Request(std::vector<llama_token> prompt, GenRun* run,
                          int max_tokens, bool interactive = true,
                          float temperature = 0, uint32_t seed = 0) {
  GenerationRequest request;
  request.prompt = std::move(prompt);
  request.sampling.temperature = temperature;
  request.sampling.seed = seed;
  request.sampling.max_tokens = max_tokens;
  request.interactive = interactive;
  request.on_token = [run](llama_token token) {
    int count;
    bool go_on;
    {
      absl::MutexLock lock(&run->mu);
      run->tokens.push_back(token);
      count = static_cast<int>(run->tokens.size());
      go_on = run->stop_after == 0 || count < run->stop_after;
    }
    if (count == run->hold_at) run->resume.WaitForNotification();
    return go_on;
  };
  request.on_done = [run](GenerationResult result) {
    {
      absl::MutexLock lock(&run->mu);
      run->result = std::move(result);
      run->ended_as = ++GenRun::ends;
    }
    run->done.Notify();
  };
  return request;
}

// Submits `prompt` for one token beside the running `streaming` request;
// returns how many tokens the stream produced between the submission and
// that first token (read on the engine's thread: no race).
int StreamedBeforeFirstToken(Engine& engine, std::vector<llama_token> prompt,
                             GenRun& streaming) {
  GenRun run;
  const int before = streaming.count();
  int at_first_token = -1;
  GenerationRequest request = Request(std::move(prompt), &run, 1);
  auto inner = request.on_token;
  request.on_token = [&, inner](llama_token token) {
    at_first_token = streaming.count();
    return inner(token);
  };
  engine.Submit(std::move(request));
  run.Wait();
  return at_first_token - before;
}

std::vector<llama_token> Solo(const std::string& text, int max_tokens,
                              float temperature = 0, uint32_t seed = 0) {
  std::unique_ptr<Engine> engine = MakeEngine(1);
  GenRun run;
  engine->Submit(Request(Tokens(*engine, text), &run, max_tokens, true,
                         temperature, seed));
  return run.Wait();
}

const std::vector<std::string> kPrompts = {
    "The quick brown fox jumps over the lazy dog.",
    "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1)",
    "東京は日本の首都です。",
    "Once upon a time, in a land far away, there lived a gateway.",
};

TEST(EngineTest, GreedyOutputIsDeterministicAndUsageExact) {
  std::unique_ptr<Engine> engine = MakeEngine(2);
  std::vector<llama_token> prompt = Tokens(*engine, kPrompts[0]);
  GenRun first, second;
  engine->Submit(Request(prompt, &first, 24));
  std::vector<llama_token> a = first.Wait();
  engine->Submit(Request(prompt, &second, 24));
  std::vector<llama_token> b = second.Wait();
  EXPECT_EQ(a, b);
  ASSERT_TRUE(first.result.status.ok()) << first.result.status;
  // Random weights rarely end on their own: 24 tokens, cut by max_tokens.
  EXPECT_EQ(first.result.finish_reason, "length");
  EXPECT_EQ(first.result.usage.prompt_tokens, static_cast<int64_t>(prompt.size()));
  EXPECT_EQ(first.result.usage.completion_tokens, static_cast<int64_t>(a.size()));
  EXPECT_EQ(a.size(), 24u);
  EXPECT_EQ(first.result.usage.cached_tokens, 0);
  // The comparisons below mean something only if outputs vary with the
  // prompt and within an answer.
  EXPECT_GT(std::set<llama_token>(a.begin(), a.end()).size(), 4u);
  EXPECT_NE(Solo(kPrompts[1], 24), a);
}

TEST(EngineTest, SequencesDecodedTogetherMatchEachAlone) {
  std::vector<std::vector<llama_token>> alone;
  for (const std::string& text : kPrompts) alone.push_back(Solo(text, 20));
  std::unique_ptr<Engine> engine = MakeEngine(4, /*step_tokens=*/16);
  std::vector<std::unique_ptr<GenRun>> runs;
  for (const std::string& text : kPrompts) {
    runs.push_back(std::make_unique<GenRun>());
    engine->Submit(Request(Tokens(*engine, text), runs.back().get(), 20));
  }
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    EXPECT_EQ(runs[i]->Wait(), alone[i]) << "prompt " << i;
  }
  EXPECT_GE(engine->counters().steps.load(), 20);
}

TEST(EngineTest, ARequestJoiningMidFlightLeavesTheOthersUnchanged) {
  std::vector<llama_token> alone_a = Solo(kPrompts[0], 40);
  std::vector<llama_token> alone_b = Solo(kPrompts[3], 10);
  std::unique_ptr<Engine> engine = MakeEngine(2);
  GenRun a, b;
  engine->Submit(Request(Tokens(*engine, kPrompts[0]), &a, 40));
  ASSERT_TRUE(a.WaitFor(10));
  engine->Submit(Request(Tokens(*engine, kPrompts[3]), &b, 10));
  EXPECT_EQ(b.Wait(), alone_b);
  EXPECT_EQ(a.Wait(), alone_a);
  EXPECT_LT(a.count(), 40 + 1);
}

TEST(EngineTest, APreemptedBatchRequestResumesWithUnchangedOutput) {
  // Sampled with a seed, so the sampler's state must survive too.
  std::vector<llama_token> alone =
      Solo(kPrompts[1], 48, /*temperature=*/0.9f, /*seed=*/7);
  std::unique_ptr<Engine> engine = MakeEngine(1);
  GenRun batch, interactive;
  batch.hold_at = 8;
  engine->Submit(Request(Tokens(*engine, kPrompts[1]), &batch, 48,
                         /*interactive=*/false, 0.9f, 7));
  ASSERT_TRUE(batch.WaitFor(8));
  engine->Submit(Request(Tokens(*engine, kPrompts[2]), &interactive, 8));
  batch.resume.Notify();
  interactive.Wait();
  EXPECT_TRUE(interactive.result.status.ok());
  EXPECT_EQ(batch.Wait(), alone);
  // The interactive request finished first, though it came later.
  EXPECT_LT(interactive.ended_as, batch.ended_as);
  EXPECT_EQ(batch.result.preemptions, 1);
  EXPECT_EQ(batch.result.usage.completion_tokens, 48);
  EXPECT_EQ(engine->counters().preemptions.load(), 1);
}

TEST(EngineTest, InteractiveRequestsAreAdmittedBeforeBatchOnes) {
  std::unique_ptr<Engine> engine = MakeEngine(1);
  GenRun first, batch, interactive;
  absl::Mutex mu;
  std::vector<std::string> started;
  auto starts = [&](GenerationRequest request, std::string name) {
    request.on_start = [&mu, &started, name](int) {
      absl::MutexLock lock(&mu);
      started.push_back(name);
    };
    return request;
  };
  engine->Submit(starts(Request(Tokens(*engine, kPrompts[0]), &first, 16), "first"));
  ASSERT_TRUE(first.WaitFor(2));
  // Both queue behind `first`; the later interactive one goes first.
  engine->Submit(starts(Request(Tokens(*engine, kPrompts[1]), &batch, 4, false),
                        "batch"));
  engine->Submit(starts(Request(Tokens(*engine, kPrompts[2]), &interactive, 4),
                        "interactive"));
  interactive.Wait();
  batch.Wait();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(started, (std::vector<std::string>{"first", "interactive", "batch"}));
  EXPECT_EQ(batch.result.preemptions, 0);
}

TEST(EngineTest, CancellationFreesTheSlotWithinAStep) {
  std::unique_ptr<Engine> engine = MakeEngine(1);
  GenRun endless, next;
  Engine::HandlePtr handle =
      engine->Submit(Request(Tokens(*engine, kPrompts[0]), &endless, 900));
  ASSERT_TRUE(endless.WaitFor(3));
  handle->Cancel();
  endless.Wait();
  EXPECT_EQ(endless.result.status.code(), absl::StatusCode::kCancelled);
  EXPECT_LT(endless.count(), 900);
  // The one slot serves the next request.
  engine->Submit(Request(Tokens(*engine, kPrompts[1]), &next, 4));
  EXPECT_EQ(next.Wait().size(), 4u);
  EXPECT_EQ(engine->Stats().running, 0);
}

TEST(EngineTest, PrefixReuseGivesTheSameTokensAsAColdStart) {
  const std::string system =
      "You are a careful assistant. Answer in one short sentence and cite "
      "nothing. Here are the rules of the house, which are long enough to "
      "fill several chunks of a step: be kind, be brief, be right.";
  std::vector<llama_token> cold = Solo(system + " Question: what is 2+2?", 16);
  std::unique_ptr<Engine> engine = MakeEngine(2, /*step_tokens=*/16);
  GenRun warmup, warm;
  engine->Submit(Request(Tokens(*engine, system + " Question: who are you?"),
                         &warmup, 4));
  warmup.Wait();
  std::vector<llama_token> prompt = Tokens(*engine, system + " Question: what is 2+2?");
  engine->Submit(Request(prompt, &warm, 16));
  EXPECT_EQ(warm.Wait(), cold);
  // The shared system prompt came from the cache, the rest was decoded.
  EXPECT_GT(warm.result.usage.cached_tokens, 30);
  EXPECT_LT(warm.result.usage.cached_tokens,
            static_cast<int64_t>(prompt.size()));
  EXPECT_EQ(engine->counters().prefix_hits.load(), warm.result.usage.cached_tokens);
}

TEST(EngineTest, AShortSharedHeaderDoesNotEvictAnotherPromptsCache) {
  std::unique_ptr<Engine> engine = MakeEngine(2, /*step_tokens=*/64);
  std::string a = "Header. " + std::string(40, 'a') + " all about apples and their orchards";
  std::string b = "Header. " + std::string(40, 'b') + " all about bees and their hives";
  std::vector<llama_token> prompt_a = Tokens(*engine, a);
  GenRun first_a, only_b, again_a;
  engine->Submit(Request(prompt_a, &first_a, 2));
  first_a.Wait();
  // B shares a few tokens with A: it takes the empty slot, not A's.
  engine->Submit(Request(Tokens(*engine, b), &only_b, 2));
  only_b.Wait();
  EXPECT_LT(only_b.result.usage.cached_tokens, 5);
  engine->Submit(Request(prompt_a, &again_a, 2));
  again_a.Wait();
  EXPECT_EQ(again_a.result.usage.cached_tokens,
            static_cast<int64_t>(prompt_a.size()) - 1);
}

TEST(EngineTest, APromptHeldByARunningSlotIsCopiedNotDecodedAgain) {
  std::string text = "A shared system prompt. ";
  while (text.size() < 1200) text += "Rules of the house, stated at length. ";
  std::vector<llama_token> cold = Solo(text + "Second question?", 12);
  std::unique_ptr<Engine> engine = MakeEngine(2, /*step_tokens=*/64);
  GenRun first, second;
  first.hold_at = 2;
  engine->Submit(Request(Tokens(*engine, text + "First question?"), &first, 60));
  ASSERT_TRUE(first.WaitFor(2));
  // The first request still runs in its slot; the second shares its
  // system prompt and gets it copied into the other slot.
  std::vector<llama_token> prompt = Tokens(*engine, text + "Second question?");
  engine->Submit(Request(prompt, &second, 12));
  first.resume.Notify();
  EXPECT_EQ(second.Wait(), cold);
  EXPECT_GT(second.result.usage.cached_tokens, 200);
  EXPECT_EQ(engine->counters().prefix_copies.load(), 1);
  first.Wait();
  EXPECT_TRUE(first.result.status.ok());
}

TEST(EngineTest, ALongPromptDoesNotFreezeTheOtherStreams) {
  std::unique_ptr<Engine> engine = MakeEngine(2, /*step_tokens=*/32, 2048);
  GenRun streaming;
  engine->Submit(Request(Tokens(*engine, kPrompts[0]), &streaming, 200));
  ASSERT_TRUE(streaming.WaitFor(2));
  std::string text;
  while (text.size() < 4000) text += "A long document about rivers and sluices. ";
  std::vector<llama_token> prompt = Tokens(*engine, text);
  ASSERT_GT(prompt.size(), 600u);
  const int steps = static_cast<int>(prompt.size()) / 32;
  // The prompt took prompt/32 steps; the stream got a token in each.
  EXPECT_GE(StreamedBeforeFirstToken(*engine, std::move(prompt), streaming),
            steps - 2);
  streaming.Wait();
}

TEST(EngineTest, AStopEndsTheRequestAndAPromptTooLongIsRefused) {
  std::unique_ptr<Engine> engine = MakeEngine(1, 64, /*slot_context=*/64);
  GenRun stopped;
  stopped.stop_after = 5;
  engine->Submit(Request(Tokens(*engine, kPrompts[0]), &stopped, 30));
  EXPECT_EQ(stopped.Wait().size(), 5u);
  EXPECT_EQ(stopped.result.finish_reason, "stop");
  EXPECT_EQ(stopped.result.usage.completion_tokens, 5);

  GenRun too_long;
  std::string text;
  while (text.size() < 1000) text += "words and more words ";
  engine->Submit(Request(Tokens(*engine, text), &too_long, 4));
  too_long.Wait();
  EXPECT_EQ(too_long.result.status.code(), absl::StatusCode::kInvalidArgument);

  // A sequence that reaches its slot's context ends with "length".
  GenRun to_the_end;
  engine->Submit(Request(Tokens(*engine, kPrompts[0]), &to_the_end, 500));
  to_the_end.Wait();
  EXPECT_EQ(to_the_end.result.finish_reason, "length");
  EXPECT_EQ(to_the_end.result.usage.prompt_tokens +
                to_the_end.result.usage.completion_tokens,
            64);
}

TEST(EngineTest, ABurstOnANewPromptReadsItOnce) {
  const std::string system = LongSystemPrompt();
  const std::vector<std::string> questions = {"First?", "Second?", "Third?"};
  std::vector<std::vector<llama_token>> alone;
  for (const std::string& q : questions) alone.push_back(Solo(system + q, 8));
  std::unique_ptr<Engine> engine = MakeEngine(4, /*step_tokens=*/32);
  std::vector<std::unique_ptr<GenRun>> runs;
  std::vector<size_t> sizes;
  for (const std::string& q : questions) {
    runs.push_back(std::make_unique<GenRun>());
    std::vector<llama_token> prompt = Tokens(*engine, system + q);
    sizes.push_back(prompt.size());
    engine->Submit(Request(std::move(prompt), runs.back().get(), 8));
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i]->Wait(), alone[i]) << "request " << i;
  }
  // One read of the shared prompt, then each request's own tail.
  EXPECT_EQ(engine->counters().prefix_follows.load(), 2);
  EXPECT_LT(engine->counters().prompt_tokens.load(),
            static_cast<int64_t>(sizes[0]) + 60);
  EXPECT_GT(runs[1]->result.usage.cached_tokens, 500);
  EXPECT_GT(runs[2]->result.usage.cached_tokens, 500);
  EXPECT_EQ(engine->counters().prefix_hits.load(),
            runs[0]->result.usage.cached_tokens +
                runs[1]->result.usage.cached_tokens +
                runs[2]->result.usage.cached_tokens);
}

TEST(EngineTest, CacheSlotsKeepPromptsThatRunningSlotsWouldEvict) {
  EngineOptions options = Options(1, /*step_tokens=*/64);
  options.cache_slots = 2;
  std::unique_ptr<Engine> engine = MakeEngine(options);
  ASSERT_EQ(engine->streams(), 3);
  std::vector<llama_token> a = Tokens(*engine, LongSystemPrompt() + "apples");
  std::vector<llama_token> b = Tokens(*engine, "All about bees. " + LongSystemPrompt());
  for (const auto* prompt : {&a, &b}) {
    GenRun run;
    engine->Submit(Request(*prompt, &run, 2));
    run.Wait();
  }
  GenRun again;
  engine->Submit(Request(a, &again, 2));
  again.Wait();
  EXPECT_EQ(again.result.usage.cached_tokens, static_cast<int64_t>(a.size()) - 1);
  // Still one running slot: a second request waits for the first.
  GenRun first, second;
  engine->Submit(Request(a, &first, 30));
  GenerationRequest request = Request(b, &second, 2);
  bool first_was_done = false;
  auto inner = request.on_token;
  request.on_token = [&, inner](llama_token token) {
    if (second.count() == 0) first_was_done = first.done.HasBeenNotified();
    return inner(token);
  };
  engine->Submit(std::move(request));
  second.Wait();
  EXPECT_TRUE(first_was_done);
  EXPECT_EQ(first.count(), 30);
  EXPECT_EQ(second.result.usage.cached_tokens, static_cast<int64_t>(b.size()) - 1);
}

TEST(EngineTest, AMostlyCachedPromptIsNotStuckBehindALongOne) {
  const std::string system = LongSystemPrompt();
  std::unique_ptr<Engine> engine = MakeEngine(3, /*step_tokens=*/32, 2048);
  GenRun warm;
  engine->Submit(Request(Tokens(*engine, system + "Warm?"), &warm, 1));
  warm.Wait();
  // A stream holds the engine inside its token callback while a cold
  // prompt (~600 tokens) and a mostly cached one (~90 new tokens) arrive:
  // both join the same step, and the shortest rest goes first.
  GenRun streaming, cold, cached;
  streaming.hold_at = 1;
  engine->Submit(Request(Tokens(*engine, kPrompts[0]), &streaming, 100));
  ASSERT_TRUE(streaming.WaitFor(1));
  std::string other, question = system + "Question:";
  while (other.size() < 2400) other += "A different document about weirs. ";
  while (question.size() < system.size() + 400) question += " and what about locks";
  engine->Submit(Request(Tokens(*engine, other), &cold, 1));
  std::vector<llama_token> prompt = Tokens(*engine, question);
  int streamed_at_first_token = -1;
  GenerationRequest request = Request(prompt, &cached, 1);
  auto inner = request.on_token;
  request.on_token = [&, inner](llama_token token) {
    streamed_at_first_token = streaming.count();  // the engine's thread
    return inner(token);
  };
  engine->Submit(std::move(request));
  streaming.resume.Notify();
  cached.Wait();
  cold.Wait();
  const int64_t rest = static_cast<int64_t>(prompt.size()) - cached.result.usage.cached_tokens;
  ASSERT_GT(rest, 70);
  ASSERT_LT(rest, 120);
  // 31 prompt tokens a step (one goes to the stream): the rest alone takes
  // ceil(rest / 31) steps; shared evenly with the cold prompt, twice that.
  const int steps_alone = static_cast<int>((rest + 30) / 31);
  EXPECT_LE(streamed_at_first_token - 1, steps_alone);
  EXPECT_LT(cached.ended_as, cold.ended_as);
  streaming.Wait();
}

TEST(EngineTest, AStepTargetCutsPromptChunksWhileOthersStream) {
  EngineOptions options = Options(2, /*step_tokens=*/512, 2048);
  // Below any step's cost: prompts advance by the smallest chunk, a quarter
  // of step_tokens (128).
  options.step_target = absl::Microseconds(1);
  std::unique_ptr<Engine> engine = MakeEngine(options);
  GenRun streaming;
  engine->Submit(Request(Tokens(*engine, kPrompts[0]), &streaming, 200));
  ASSERT_TRUE(streaming.WaitFor(4));
  std::vector<llama_token> prompt =
      Tokens(*engine, LongSystemPrompt() + LongSystemPrompt());
  ASSERT_GT(prompt.size(), 1000u);
  const int chunks = static_cast<int>(prompt.size()) / 128;
  // Without the target this prompt takes 3 steps of 512; with it, chunks
  // of 128.
  EXPECT_GE(StreamedBeforeFirstToken(*engine, std::move(prompt), streaming),
            chunks);
  streaming.Wait();
}

TEST(EngineTest, SeededSamplingIsReproducible) {
  EXPECT_EQ(Solo(kPrompts[3], 16, 0.8f, 11), Solo(kPrompts[3], 16, 0.8f, 11));
  EXPECT_NE(Solo(kPrompts[3], 16, 0.8f, 11), Solo(kPrompts[3], 16, 0.8f, 12));
}

}  // namespace
}  // namespace sluice::worker
