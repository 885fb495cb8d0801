// Serializer: closures run one at a time, in order, on the thread that
// found it idle; a closure queued from inside another runs right after it.
#include "libs/host/serializer.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace sluice::host {
namespace {

TEST(SerializerTest, RunsInlineWhenIdle) {
  Serializer serializer;
  std::thread::id ran_on;
  serializer.Run([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(SerializerTest, ReentrantRunIsQueuedAfterTheCurrentClosure) {
  Serializer serializer;
  std::vector<int> order;
  serializer.Run([&] {
    order.push_back(1);
    serializer.Run([&] { order.push_back(3); });
    order.push_back(2);  // the nested closure has not run yet
  });
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(SerializerTest, NeverRunsTwoClosuresAtOnce) {
  Serializer serializer;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  int64_t sum = 0;  // unguarded: the serializer is the only guard
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        serializer.Run([&] {
          if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
          ++sum;
          inside.fetch_sub(1);
        });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(sum, 8 * 5000);
}

}  // namespace
}  // namespace sluice::host
