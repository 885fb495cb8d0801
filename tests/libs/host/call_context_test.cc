// CallContext: cancellation runs down to children (never up), hooks run
// once, forgotten hooks never, and children keep what they inherit.
#include "libs/host/call_context.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sluice::host {
namespace {

CallContextPtr Root() {
  return CallContext::Create({absl::Now() + absl::Seconds(30), "req_1",
                              "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                              {"acme", "key_1"}});
}

TEST(CallContextTest, ChildrenInheritAndTakeTheEarlierDeadline) {
  CallContextPtr root = Root();
  CallContextPtr child = root->Child();
  EXPECT_EQ(child->deadline(), root->deadline());
  EXPECT_EQ(child->request_id(), "req_1");
  EXPECT_EQ(child->traceparent(), root->traceparent());
  EXPECT_EQ(child->caller().tenant, "acme");
  EXPECT_EQ(child->caller().key_id, "key_1");
  EXPECT_EQ(root->Child(absl::InfiniteFuture())->deadline(), root->deadline());
  absl::Time sooner = absl::Now() + absl::Seconds(1);
  EXPECT_EQ(root->Child(sooner)->deadline(), sooner);
  CallContextPtr routed = root->ChildFor("00-1", {"other", "key_2"});
  EXPECT_EQ(routed->traceparent(), "00-1");
  EXPECT_EQ(routed->caller().tenant, "other");
  EXPECT_EQ(routed->request_id(), "req_1");
  EXPECT_EQ(routed->deadline(), root->deadline());
}

TEST(CallContextTest, CancellationRunsDownNeverUp) {
  CallContextPtr root = Root();
  CallContextPtr child = root->Child();
  CallContextPtr grandchild = child->Child();
  CallContextPtr sibling = root->Child();
  child->Cancel();
  EXPECT_TRUE(child->cancelled());
  EXPECT_TRUE(grandchild->cancelled());
  EXPECT_FALSE(root->cancelled());
  EXPECT_FALSE(sibling->cancelled());
  root->Cancel();
  EXPECT_TRUE(sibling->cancelled());
  // A child made after the cancel is born cancelled.
  EXPECT_TRUE(root->Child()->cancelled());
}

TEST(CallContextTest, HooksRunOnceAndForgottenOnesNever) {
  CallContextPtr context = Root();
  int ran = 0, forgotten = 0;
  context->OnCancel([&] { ++ran; });
  CallContext::HookId id = context->OnCancel([&] { ++forgotten; });
  EXPECT_NE(id, 0u);
  context->Forget(id);
  context->Cancel();
  context->Cancel();
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(forgotten, 0);
  // Already cancelled: runs at once, on this thread.
  int late = 0;
  EXPECT_EQ(context->OnCancel([&] { ++late; }), 0u);
  EXPECT_EQ(late, 1);
}

TEST(CallContextTest, ADeadChildLeavesNoHookBehind) {
  CallContextPtr root = Root();
  for (int i = 0; i < 1000; ++i) root->Child();
  // The children are gone; cancelling the root touches none of them.
  root->Cancel();
  EXPECT_TRUE(root->cancelled());
}

TEST(CallContextTest, ConcurrentCancelRunsEachHookOnce) {
  CallContextPtr context = Root();
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) context->OnCancel([&] { ++ran; });
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) threads.emplace_back([&] { context->Cancel(); });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ran.load(), 100);
}

}  // namespace
}  // namespace sluice::host
