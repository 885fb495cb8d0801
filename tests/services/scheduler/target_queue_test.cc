#include "services/scheduler/target_queue.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/status/errors.h"

namespace sluice::scheduler {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

// A call that records how it ended into `log` as "name:ok" or "name:CODE".
QueuedCall Call(const std::string& name, const std::string& tenant,
                std::vector<std::string>* log, bool batch = false,
                int64_t tokens = 10, absl::Time deadline = absl::InfiniteFuture()) {
  static uint64_t next_id = 1;
  QueuedCall call;
  call.id = next_id++;
  call.tenant = tenant;
  call.batch = batch;
  call.prompt_tokens = tokens;
  call.deadline = deadline;
  call.start = [name, log](absl::Status status) {
    log->push_back(absl::StrCat(
        name, ":", status.ok() ? "ok" : absl::StatusCodeToString(status.code())));
  };
  return call;
}

void StartAll(std::vector<QueuedCall> calls) {
  for (QueuedCall& call : calls) std::move(call.start)(absl::OkStatus());
}

TEST(TargetQueueTest, TheConcurrencyCapHoldsAndAFinishFreesASlot) {
  std::vector<std::string> log;
  TargetQueue queue({.max_concurrency = 2}, {}, kStart);
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_TRUE(queue.Enqueue(Call(name, "t", &log)).ok());
  }
  StartAll(queue.TakeStartable(kStart));
  EXPECT_EQ(log, (std::vector<std::string>{"a:ok", "b:ok"}));
  EXPECT_EQ(queue.in_flight(), 2);
  EXPECT_EQ(queue.NextWake(kStart), absl::InfiniteFuture());  // only a finish helps
  queue.Finish("t", false, 10, 10, 0, 10, kStart);
  StartAll(queue.TakeStartable(kStart));
  EXPECT_EQ(log.back(), "c:ok");
  EXPECT_EQ(queue.in_flight(), 2);
}

TEST(TargetQueueTest, BatchCallsTowardAWorkerLeaveInGroups) {
  std::vector<std::string> log;
  MicroBatch group{.max_batch = 4, .max_wait = absl::Milliseconds(50)};
  TargetQueue queue({}, {}, kStart, group);
  auto enqueue = [&](const std::string& name, bool batch, absl::Time at) {
    QueuedCall call = Call(name, "jobs", &log, batch);
    call.enqueued = at;
    ASSERT_TRUE(queue.Enqueue(std::move(call)).ok());
  };
  // Three batch calls wait for a fourth or for 50ms after the first.
  for (int i = 0; i < 3; ++i) {
    enqueue(absl::StrCat("b", i), true, kStart + absl::Milliseconds(i));
  }
  EXPECT_TRUE(queue.TakeStartable(kStart + absl::Milliseconds(10)).empty());
  EXPECT_EQ(queue.NextWake(kStart + absl::Milliseconds(10)),
            kStart + absl::Milliseconds(50));
  // An interactive call does not wait for any group.
  enqueue("i", false, kStart + absl::Milliseconds(20));
  StartAll(queue.TakeStartable(kStart + absl::Milliseconds(20)));
  EXPECT_EQ(log, (std::vector<std::string>{"i:ok"}));
  StartAll(queue.TakeStartable(kStart + absl::Milliseconds(50)));
  EXPECT_EQ(log, (std::vector<std::string>{"i:ok", "b0:ok", "b1:ok", "b2:ok"}));

  // A full group leaves at once.
  log.clear();
  const absl::Time later = kStart + absl::Seconds(1);
  for (int i = 0; i < 3; ++i) enqueue(absl::StrCat("c", i), true, later);
  EXPECT_TRUE(queue.TakeStartable(later).empty());
  enqueue("c3", true, later);
  StartAll(queue.TakeStartable(later));
  EXPECT_EQ(log.size(), 4u);
  // The next group gathers anew.
  enqueue("d0", true, later);
  EXPECT_TRUE(queue.TakeStartable(later + absl::Milliseconds(49)).empty());
  StartAll(queue.TakeStartable(later + absl::Milliseconds(50)));
  EXPECT_EQ(log.back(), "d0:ok");
}

TEST(TargetQueueTest, AGroupIsAtMostMaxBatchCalls) {
  std::vector<std::string> log;
  MicroBatch group{.max_batch = 4, .max_wait = absl::Milliseconds(50)};
  TargetQueue queue({}, {}, kStart, group);
  // Ten batch calls queued at once (several polls of jobs together): two
  // full groups leave one after the other, the last two wait for theirs.
  for (int i = 0; i < 10; ++i) {
    QueuedCall call = Call(absl::StrCat("b", i), "jobs", &log, true);
    call.enqueued = kStart;
    ASSERT_TRUE(queue.Enqueue(std::move(call)).ok());
  }
  EXPECT_EQ(queue.TakeStartable(kStart).size(), 4u);
  EXPECT_EQ(queue.TakeStartable(kStart).size(), 4u);
  EXPECT_TRUE(queue.TakeStartable(kStart + absl::Milliseconds(10)).empty());
  // They have waited since they were queued: theirs ends at 50 ms.
  EXPECT_EQ(queue.NextWake(kStart + absl::Milliseconds(10)), kStart + absl::Milliseconds(50));
  EXPECT_EQ(queue.TakeStartable(kStart + absl::Milliseconds(50)).size(), 2u);
}

TEST(TargetQueueTest, InteractiveGoesFirstAndBatchLeavesItASlot) {
  std::vector<std::string> log;
  TargetQueue queue({.max_concurrency = 3}, {}, kStart);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(queue.Enqueue(Call(absl::StrCat("batch", i), "jobs", &log, true)).ok());
  }
  StartAll(queue.TakeStartable(kStart));
  // Batch takes two of the three slots, never the last.
  EXPECT_EQ(log, (std::vector<std::string>{"batch0:ok", "batch1:ok"}));
  ASSERT_TRUE(queue.Enqueue(Call("chat", "app", &log)).ok());
  StartAll(queue.TakeStartable(kStart));
  EXPECT_EQ(log.back(), "chat:ok");  // at once, ahead of three queued batch calls
  // When a slot frees, waiting interactive work goes before batch work.
  ASSERT_TRUE(queue.Enqueue(Call("chat2", "app", &log)).ok());
  StartAll(queue.TakeStartable(kStart));
  EXPECT_EQ(log.back(), "chat:ok");
  queue.Finish("jobs", true, 10, 10, 0, 10, kStart);
  StartAll(queue.TakeStartable(kStart));
  EXPECT_EQ(log.back(), "chat2:ok");
  EXPECT_EQ(queue.queued_batch(), 3u);
}

// Shared limits take each class apart (one ask to Redis per class); a
// batch call still never goes ahead of a queued interactive one, and a
// worker's group still gathers first.
TEST(TargetQueueTest, TakingOneClassKeepsPriorityAndGroups) {
  std::vector<std::string> log;
  MicroBatch group{.max_batch = 3, .max_wait = absl::Milliseconds(50)};
  TargetQueue queue({.max_concurrency = 1}, {}, kStart, group);
  ASSERT_TRUE(queue.Enqueue(Call("busy", "app", &log)).ok());
  StartAll(queue.TakeStartable(kStart, SIZE_MAX, /*batch=*/false));
  ASSERT_TRUE(queue.Enqueue(Call("chat", "app", &log)).ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(queue.Enqueue(Call(absl::StrCat("b", i), "jobs", &log, true)).ok());
  }
  // The group has gathered, but "chat" waits for the slot: batch waits too.
  EXPECT_TRUE(queue.TakeStartable(kStart, SIZE_MAX, /*batch=*/true).empty());
  queue.Finish("app", false, 10, 10, 0, 10, kStart);
  EXPECT_TRUE(queue.TakeStartable(kStart, SIZE_MAX, /*batch=*/true).empty());
  StartAll(queue.TakeStartable(kStart, SIZE_MAX, /*batch=*/false));
  EXPECT_EQ(log, (std::vector<std::string>{"busy:ok", "chat:ok"}));
  // Interactive takes never take batch calls.
  queue.Finish("app", false, 10, 10, 0, 10, kStart);
  EXPECT_TRUE(queue.TakeStartable(kStart, SIZE_MAX, /*batch=*/false).empty());
  StartAll(queue.TakeStartable(kStart, 2, /*batch=*/true));
  EXPECT_EQ(log.back(), "b0:ok");  // one slot: the cap (of one) holds
  EXPECT_EQ(queue.queued_batch(), 2u);
}

TEST(TargetQueueTest, AFullQueueRefusesWithRetryAfterAndKeepsTheCall) {
  std::vector<std::string> log;
  TargetQueue queue({.max_concurrency = 1}, {.max_interactive = 2, .max_batch = 1}, kStart);
  ASSERT_TRUE(queue.Enqueue(Call("a", "t", &log)).ok());
  ASSERT_TRUE(queue.Enqueue(Call("b", "t", &log)).ok());
  QueuedCall refused = Call("c", "t", &log);
  absl::Status status = queue.Enqueue(std::move(refused));
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_EQ(status::RetryAfterOf(status), absl::Seconds(1));
  ASSERT_TRUE(refused.start);  // not moved from: the caller answers it
  std::move(refused.start)(status);
  EXPECT_EQ(log.back(), "c:RESOURCE_EXHAUSTED");
  // The batch class has its own bound.
  EXPECT_TRUE(queue.Enqueue(Call("j1", "t", &log, true)).ok());
  EXPECT_FALSE(queue.Enqueue(Call("j2", "t", &log, true)).ok());
}

TEST(TargetQueueTest, AFullQueueOfAPausedProviderSaysWhenThePauseEnds) {
  std::vector<std::string> log;
  TargetQueue queue({.max_concurrency = 1}, {.max_interactive = 1}, kStart);
  ASSERT_TRUE(queue.Enqueue(Call("a", "t", &log)).ok());
  queue.PauseUntil(kStart + absl::Seconds(20), kStart);
  absl::Status status = queue.Enqueue(Call("b", "t", &log));
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_EQ(status::RetryAfterOf(status), absl::Seconds(20));
}

TEST(TargetQueueTest, AFullQueueOfAFailingProviderIsUnavailable) {
  std::vector<std::string> log;
  TargetQueue queue({.max_concurrency = 1}, {.max_interactive = 1}, kStart);
  for (int i = 0; i < TargetQueue::kDownAfterFailures - 1; ++i) queue.RecordOutcome(true);
  ASSERT_TRUE(queue.Enqueue(Call("a", "t", &log)).ok());
  // One failure short of down: still a plain 429.
  EXPECT_TRUE(absl::IsResourceExhausted(queue.Enqueue(Call("b", "t", &log))));
  queue.RecordOutcome(true);
  absl::Status status = queue.Enqueue(Call("c", "t", &log));
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_NE(status.message().find("down"), absl::string_view::npos) << status;
  // One answer and it is up again.
  queue.RecordOutcome(false);
  EXPECT_TRUE(absl::IsResourceExhausted(queue.Enqueue(Call("d", "t", &log))));
}

TEST(TargetQueueTest, CallsPastTheirDeadlineAreDropped) {
  std::vector<std::string> log;
  TargetQueue queue({.max_concurrency = 1}, {}, kStart);
  ASSERT_TRUE(queue.Enqueue(Call("running", "t", &log)).ok());
  StartAll(queue.TakeStartable(kStart));
  ASSERT_TRUE(queue.Enqueue(Call("late", "t", &log, false, 10, kStart + absl::Seconds(2))).ok());
  ASSERT_TRUE(queue.Enqueue(Call("patient", "t", &log)).ok());
  EXPECT_EQ(queue.NextWake(kStart), kStart + absl::Seconds(2));
  EXPECT_TRUE(queue.TakeDropped(kStart + absl::Seconds(1), [](const QueuedCall&) { return false; }).empty());
  std::vector<QueuedCall> dropped =
      queue.TakeDropped(kStart + absl::Seconds(2), [](const QueuedCall&) { return false; });
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].tenant, "t");
  std::move(dropped[0].start)(absl::DeadlineExceededError("late"));
  EXPECT_EQ(log.back(), "late:DEADLINE_EXCEEDED");
  EXPECT_EQ(queue.queued(), 1u);
  EXPECT_EQ(queue.NextWake(kStart + absl::Seconds(2)), absl::InfiniteFuture());
}

TEST(TargetQueueTest, RequestsPerMinuteRefill) {
  std::vector<std::string> log;
  TargetQueue queue({.rpm = 60}, {}, kStart);
  for (int i = 0; i < 61; ++i) {
    ASSERT_TRUE(queue.Enqueue(Call(absl::StrCat("c", i), "t", &log)).ok());
  }
  StartAll(queue.TakeStartable(kStart));
  EXPECT_EQ(log.size(), 60u);  // a full bucket: a minute's worth at once
  // One request a second comes back.
  EXPECT_EQ(queue.NextWake(kStart), kStart + absl::Seconds(1));
  EXPECT_TRUE(queue.TakeStartable(kStart + absl::Milliseconds(900)).empty());
  StartAll(queue.TakeStartable(kStart + absl::Seconds(1)));
  EXPECT_EQ(log.size(), 61u);
}

TEST(TargetQueueTest, TokensPerMinuteCountPromptAndMaxTokensAndSettle) {
  std::vector<std::string> log;
  TargetQueue queue({.tpm = 1000}, {}, kStart);
  for (int i = 0; i < 3; ++i) {
    QueuedCall call = Call(absl::StrCat("c", i), "t", &log, false, 300);
    call.max_completion_tokens = 100;  // charged 400 each
    ASSERT_TRUE(queue.Enqueue(std::move(call)).ok());
  }
  StartAll(queue.TakeStartable(kStart));
  EXPECT_EQ(log.size(), 2u);  // 800 of 1000
  // The first used only 100 of its 400: 300 come back, the third fits.
  queue.Finish("t", false, 400, 80, 20, 300, kStart);
  StartAll(queue.TakeStartable(kStart));
  EXPECT_EQ(log.size(), 3u);
}

TEST(TargetQueueTest, AProvider429PausesTheTargetUntilRetryAfter) {
  std::vector<std::string> log;
  TargetQueue queue({}, {}, kStart);
  queue.PauseUntil(kStart + absl::Seconds(5), kStart);
  ASSERT_TRUE(queue.Enqueue(Call("a", "t", &log)).ok());
  EXPECT_TRUE(queue.TakeStartable(kStart + absl::Seconds(4)).empty());
  EXPECT_EQ(queue.NextWake(kStart + absl::Seconds(4)), kStart + absl::Seconds(5));
  StartAll(queue.TakeStartable(kStart + absl::Seconds(5)));
  EXPECT_EQ(log, (std::vector<std::string>{"a:ok"}));
}

}  // namespace
}  // namespace sluice::scheduler
