// The usage journal on a real directory: what a process killed with
// SIGKILL left (a child process here) comes back as one event per request,
// finished or not; files go once their requests let go; a slot's leftovers
// are read once.
#include "services/ingress/usage_journal.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sluice::ingress {
namespace {

std::string TempDir() {
  char dir[] = "/tmp/sluice-journal-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return dir;
}

int JournalFiles(const std::string& dir) {
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    files += entry.path().extension() == ".journal";
  }
  return files;
}

sluice::v1::UsageEvent Event(const std::string& id, int status = 0) {
  sluice::v1::UsageEvent event;
  event.set_request_id(id);
  event.set_tenant("acme");
  event.set_model("deepseek-chat");
  event.set_status(status);
  if (status == 200) {
    event.mutable_usage()->set_prompt_tokens(11);
    event.mutable_usage()->set_completion_tokens(7);
  }
  return event;
}

TEST(UsageJournalTest, WhatAKilledProcessLeftComesBackOncePerRequest) {
  const std::string dir = TempDir();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::vector<sluice::v1::UsageEvent> none;
    auto journal = UsageJournal::Open({dir}, &none);
    if (!journal.ok() || !none.empty()) _exit(2);
    // In flight at the kill: one begun only, one finished but its event
    // not yet durable; one finished and durable (its entry let go).
    auto in_flight = (*journal)->Begin(Event("req-in-flight"));
    auto finished = (*journal)->Begin(Event("req-finished"));
    finished = (*journal)->Finish(std::move(finished),
                                  Event("req-finished", 200).SerializeAsString());
    auto durable = (*journal)->Begin(Event("req-durable"));
    durable = (*journal)->Finish(std::move(durable),
                                 Event("req-durable", 200).SerializeAsString());
    durable.reset();
    kill(getpid(), SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child failed: " << status;
  ASSERT_GT(JournalFiles(dir), 0);

  std::vector<sluice::v1::UsageEvent> leftover;
  auto journal = UsageJournal::Open({dir}, &leftover);
  ASSERT_TRUE(journal.ok()) << journal.status();
  std::map<std::string, sluice::v1::UsageEvent> by_id;
  for (const auto& event : leftover) by_id[event.request_id()] = event;
  // The durable one's records were in the same segment as the others', so
  // it may come again (metering counts a request id once); each at most
  // once, and the other two exactly as they stood.
  EXPECT_EQ(leftover.size(), by_id.size());
  ASSERT_TRUE(by_id.contains("req-finished"));
  EXPECT_EQ(by_id["req-finished"].status(), 200);
  EXPECT_EQ(by_id["req-finished"].usage().completion_tokens(), 7);
  ASSERT_TRUE(by_id.contains("req-in-flight"));
  const sluice::v1::UsageEvent& cut = by_id["req-in-flight"];
  EXPECT_EQ(cut.status(), 500);
  EXPECT_EQ(cut.error_type(), "gateway_restarted");
  EXPECT_EQ(cut.tenant(), "acme");
  EXPECT_EQ(cut.model(), "deepseek-chat");
  EXPECT_TRUE(cut.usage().prompt_tokens_estimated());
  EXPECT_TRUE(cut.usage().completion_tokens_estimated());

  // Journaled again, the old files go: the next process finds nothing.
  std::vector<UsageJournal::EntryPtr> held;
  for (const auto& event : leftover) {
    held.push_back((*journal)->Finish(nullptr, event.SerializeAsString()));
  }
  (*journal)->DropLeftovers();
  held.clear();
  journal->reset();
  EXPECT_EQ(JournalFiles(dir), 0);
  std::vector<sluice::v1::UsageEvent> again;
  auto next = UsageJournal::Open({dir}, &again);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(again.empty());
}

TEST(UsageJournalTest, ASegmentGoesWhenItsLastRequestLetsGo) {
  const std::string dir = TempDir();
  std::vector<sluice::v1::UsageEvent> none;
  // A new segment for every record.
  auto journal = UsageJournal::Open({dir, absl::ZeroDuration()}, &none);
  ASSERT_TRUE(journal.ok()) << journal.status();
  auto kept = (*journal)->Begin(Event("req-kept"));
  for (int i = 0; i < 5; ++i) {
    std::string id = "req-" + std::to_string(i);
    auto entry = (*journal)->Begin(Event(id));
    entry = (*journal)->Finish(std::move(entry),
                               Event(id, 200).SerializeAsString());
  }
  // The kept request's segment and the active one remain.
  EXPECT_EQ(JournalFiles(dir), 2);
  kept.reset();
  EXPECT_EQ(JournalFiles(dir), 1);
  journal->reset();
  EXPECT_EQ(JournalFiles(dir), 0);
}

TEST(UsageJournalTest, TwoLiveJournalsNeverShareASlot) {
  const std::string dir = TempDir();
  std::vector<sluice::v1::UsageEvent> none;
  auto first = UsageJournal::Open({dir}, &none);
  ASSERT_TRUE(first.ok()) << first.status();
  auto entry = (*first)->Begin(Event("req-first"));
  std::vector<sluice::v1::UsageEvent> seen;
  auto second = UsageJournal::Open({dir}, &seen);
  ASSERT_TRUE(second.ok()) << second.status();
  // The live first journal's request is not the second's to send.
  EXPECT_TRUE(seen.empty());
}

}  // namespace
}  // namespace sluice::ingress
