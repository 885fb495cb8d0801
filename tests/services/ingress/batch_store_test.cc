// The Batch API's store on SQLite and on PostgreSQL (the same tests):
// tenants see only their own objects, file content comes back byte for
// byte, a line's result counts once (also when two replicas finish it at
// once), a status written by the runner never overwrites a cancel that
// came meanwhile, and a batch is claimed by one replica at a time until
// its lease ends.
#include "services/ingress/batch_store.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/services/ingress/jobs_test_database.h"

namespace sluice::ingress {
namespace {

class BatchStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // Without SLUICE_TEST_POSTGRES the PostgreSQL cases fail, never skip.
    absl::StatusOr<std::unique_ptr<JobsTestDatabase>> db =
        JobsTestDatabase::Make(GetParam());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  // Another store over the same data (another replica).
  BatchStorePtr Open() {
    absl::StatusOr<BatchStorePtr> store = db_->OpenBatchStore();
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  BatchRecord NewBatch(const std::string& tenant, const std::string& file_id) {
    BatchRecord batch;
    batch.id = NewObjectId("batch_");
    batch.tenant = tenant;
    batch.key_sha256 = "ab12";
    batch.input_file_id = file_id;
    batch.endpoint = "/v1/chat/completions";
    batch.completion_window = "24h";
    batch.created_at = absl::FromUnixSeconds(1000);
    batch.expires_at = absl::FromUnixSeconds(1000 + 86400);
    absl::Status created = store_->CreateBatch(batch);
    EXPECT_TRUE(created.ok()) << created;
    return batch;
  }

  std::unique_ptr<JobsTestDatabase> db_;
  BatchStorePtr store_;  // after db_: closed before the database goes
};

INSTANTIATE_TEST_SUITE_P(Stores, BatchStoreTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(BatchStoreTest, FilesBelongToTheirTenant) {
  StoredFile record;
  record.tenant = "demo";
  record.purpose = "batch";
  record.filename = "in.jsonl";
  record.created_at = absl::FromUnixSeconds(1000);
  auto file = store_->CreateFile(record, "line one\nline two\n");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->bytes, 18);
  EXPECT_EQ(file->id.rfind("file-", 0), 0u);
  auto content = store_->FileContent("demo", file->id);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, "line one\nline two\n");
  EXPECT_TRUE(absl::IsNotFound(store_->GetFile("acme", file->id).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->FileContent("acme", file->id).status()));
  auto listed = store_->ListFiles("acme");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_TRUE(absl::IsNotFound(store_->DeleteFile("acme", file->id)));
  EXPECT_TRUE(store_->DeleteFile("demo", file->id).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->GetFile("demo", file->id).status()));
}

TEST_P(BatchStoreTest, ListsNewestFirstAfterACursor) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(NewBatch("demo", "file-x").id);
  NewBatch("acme", "file-y");
  auto first = store_->ListBatches("demo", "", 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, ids[4]);
  EXPECT_EQ((*first)[1].id, ids[3]);
  auto next = store_->ListBatches("demo", (*first)[1].id, 10);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 3u);
  EXPECT_EQ((*next)[0].id, ids[2]);
  EXPECT_EQ((*next)[2].id, ids[0]);
}

TEST_P(BatchStoreTest, ALineCountsOnce) {
  BatchRecord batch = NewBatch("demo", "file-x");
  ASSERT_TRUE(
      store_->AddLines(batch.id, {{1, "a", "{}"}, {2, "b", "{}"}}).ok());
  LineOutcome ok;
  ok.line_no = 1;
  ok.ok = true;
  ok.result_line = "result a";
  ok.prompt_tokens = 10;
  ok.completion_tokens = 5;
  ok.cached_tokens = 4;
  ok.cost_micro_usd = 40;
  ok.cost_at_submission_micro_usd = 80;
  auto first = store_->FinishLines(batch.id, {ok});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 1);
  auto again = store_->FinishLines(batch.id, {ok});  // run again after a crash
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  auto pending = store_->PendingLines(batch.id, 0, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].custom_id, "b");
  auto read = store_->GetBatch("demo", batch.id);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->total, 2);
  EXPECT_EQ(read->completed, 1);
  EXPECT_EQ(read->failed, 0);
  EXPECT_EQ(read->prompt_tokens, 10);
  EXPECT_EQ(read->cached_tokens, 4);
  EXPECT_EQ(read->cost_micro_usd, 40);
  EXPECT_EQ(read->cost_at_submission_micro_usd, 80);
  std::vector<std::string> results;
  ASSERT_TRUE(store_
                  ->ForEachResult(
                      batch.id, true,
                      [&](const std::string& line) { results.push_back(line); })
                  .ok());
  EXPECT_EQ(results, std::vector<std::string>{"result a"});
}

TEST_P(BatchStoreTest, ACancelIsNeverOverwritten) {
  BatchRecord batch = NewBatch("demo", "file-x");
  EXPECT_TRUE(absl::IsNotFound(
      store_->RequestCancel("acme", batch.id, absl::FromUnixSeconds(1001))
          .status()));
  auto cancelling =
      store_->RequestCancel("demo", batch.id, absl::FromUnixSeconds(1001));
  ASSERT_TRUE(cancelling.ok()) << cancelling.status();
  EXPECT_EQ(cancelling->status, kBatchCancelling);
  // The runner read it as validating before the cancel came.
  batch.status = kBatchInProgress;
  EXPECT_TRUE(absl::IsAborted(store_->UpdateBatch(batch, kBatchValidating)));
  auto read = store_->GetBatch("demo", batch.id);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->status, kBatchCancelling);
  EXPECT_EQ(read->cancelling_at, absl::FromUnixSeconds(1001));
  // Cancelling again is fine; a finished batch cannot be.
  EXPECT_TRUE(
      store_->RequestCancel("demo", batch.id, absl::FromUnixSeconds(1002))
          .ok());
  read->status = kBatchCancelled;
  ASSERT_TRUE(store_->UpdateBatch(*read, kBatchCancelling).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      store_->RequestCancel("demo", batch.id, absl::FromUnixSeconds(1003))
          .status()));
}

TEST_P(BatchStoreTest, AFileComesBackByteForByteAndARewriteIsTheNewest) {
  std::string content;
  for (int i = 0; i < 3 * 1024 * 1024; ++i)
    content.push_back(static_cast<char>(i * 7));
  StoredFile record;
  record.tenant = "demo";
  record.purpose = "batch";
  record.filename = "big.jsonl";
  record.created_at = absl::FromUnixSeconds(1000);
  auto big = store_->CreateFile(record, content);
  ASSERT_TRUE(big.ok()) << big.status();
  record.filename = "second.jsonl";
  auto second = store_->CreateFile(record, "two");
  ASSERT_TRUE(second.ok()) << second.status();
  auto read = store_->FileContent("demo", big->id);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == content) << "the content changed on its way";
  auto file = store_->GetFile("demo", big->id);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->bytes, static_cast<int64_t>(content.size()));
  EXPECT_EQ(file->filename, "big.jsonl");
  EXPECT_EQ(file->created_at, absl::FromUnixSeconds(1000));
  // Written again under its id (an output file after a crash): new
  // content, and listed first.
  StoredFile again = *big;
  again.filename = "again.jsonl";
  again.created_at = absl::FromUnixSeconds(2000);
  ASSERT_TRUE(store_->CreateFile(again, "new").ok());
  EXPECT_EQ(store_->FileContent("demo", big->id).value_or(""), "new");
  auto listed = store_->ListFiles("demo");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, big->id);
  EXPECT_EQ((*listed)[0].filename, "again.jsonl");
  EXPECT_EQ((*listed)[1].id, second->id);
}

TEST_P(BatchStoreTest, ABatchComesBackAsStored) {
  BatchRecord batch;
  batch.id = NewObjectId("batch_");
  batch.tenant = "demo";
  batch.key_sha256 = "cd34";
  batch.input_file_id = "file-in";
  batch.endpoint = "/v1/chat/completions";
  batch.completion_window = "24h";
  batch.metadata_json = R"({"team":"it's"})";
  batch.created_at = absl::FromUnixSeconds(1000);
  batch.expires_at = absl::FromUnixSeconds(90000);
  batch.run_after = absl::FromUnixSeconds(5000);
  batch.run_now = true;
  ASSERT_TRUE(store_->CreateBatch(batch).ok());
  auto read = store_->GetBatch("demo", batch.id);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->key_sha256, "cd34");
  EXPECT_EQ(read->metadata_json, R"({"team":"it's"})");
  EXPECT_EQ(read->status, kBatchValidating);
  EXPECT_EQ(read->created_at, absl::FromUnixSeconds(1000));
  EXPECT_EQ(read->expires_at, absl::FromUnixSeconds(90000));
  EXPECT_EQ(read->run_after, absl::FromUnixSeconds(5000));
  EXPECT_EQ(read->in_progress_at, absl::InfinitePast());  // null: never
  EXPECT_TRUE(read->run_now);
  read->status = kBatchFailed;
  read->failed_at = absl::FromUnixSeconds(1001);
  read->errors_json = R"({"object":"list","data":[]})";
  ASSERT_TRUE(store_->UpdateBatch(*read, kBatchValidating).ok());
  auto failed = store_->GetBatch("demo", batch.id);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->status, kBatchFailed);
  EXPECT_EQ(failed->failed_at, absl::FromUnixSeconds(1001));
  EXPECT_EQ(failed->errors_json, R"({"object":"list","data":[]})");
  EXPECT_TRUE(absl::IsNotFound(store_->GetBatch("acme", batch.id).status()));
}

TEST_P(BatchStoreTest, ActiveBatchesAreEveryTenantsUnfinishedOnesOldestFirst) {
  BatchRecord first = NewBatch("demo", "file-x");
  BatchRecord done = NewBatch("demo", "file-x");
  BatchRecord other = NewBatch("acme", "file-y");
  done.status = kBatchCompleted;
  ASSERT_TRUE(store_->UpdateBatch(done, kBatchValidating).ok());
  auto active = store_->ActiveBatches();
  ASSERT_TRUE(active.ok()) << active.status();
  ASSERT_EQ(active->size(), 2u);
  EXPECT_EQ((*active)[0].id, first.id);
  EXPECT_EQ((*active)[1].id, other.id);
}

TEST_P(BatchStoreTest, ManyLinesPageInFileOrderAndResultsComeBackInOrder) {
  BatchRecord batch = NewBatch("demo", "file-x");
  std::vector<BatchLine> lines;
  for (int i = 1; i <= 1500; ++i) {
    lines.push_back(
        {i, absl::StrCat("c-", i), absl::StrCat(R"({"n":)", i, "}")});
  }
  ASSERT_TRUE(store_->AddLines(batch.id, lines).ok());
  auto page = store_->PendingLines(batch.id, 499, 3);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].line_no, 500);
  EXPECT_EQ((*page)[0].custom_id, "c-500");
  EXPECT_EQ((*page)[2].body, R"({"n":502})");
  std::vector<LineOutcome> outcomes;
  for (int i = 1500; i >= 1; --i) {
    LineOutcome outcome;
    outcome.line_no = i;
    outcome.ok = i % 3 != 0;
    outcome.result_line = absl::StrCat("result ", i);
    outcome.prompt_tokens = 1;
    outcomes.push_back(outcome);
  }
  auto finished = store_->FinishLines(batch.id, outcomes);
  ASSERT_TRUE(finished.ok()) << finished.status();
  EXPECT_EQ(*finished, 1500);
  auto read = store_->GetBatch("demo", batch.id);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->total, 1500);
  EXPECT_EQ(read->completed, 1000);
  EXPECT_EQ(read->failed, 500);
  EXPECT_EQ(read->prompt_tokens, 1500);
  std::vector<std::string> ok, failed;
  ASSERT_TRUE(
      store_
          ->ForEachResult(batch.id, true,
                          [&](const std::string& line) { ok.push_back(line); })
          .ok());
  ASSERT_TRUE(store_
                  ->ForEachResult(
                      batch.id, false,
                      [&](const std::string& line) { failed.push_back(line); })
                  .ok());
  ASSERT_EQ(ok.size(), 1000u);
  ASSERT_EQ(failed.size(), 500u);
  EXPECT_EQ(ok.front(), "result 1");
  EXPECT_EQ(ok.back(), "result 1499");
  EXPECT_EQ(failed[1], "result 6");
  EXPECT_TRUE(std::is_sorted(
      failed.begin(), failed.end(), [](const auto& a, const auto& b) {
        return std::stoi(a.substr(7)) < std::stoi(b.substr(7));
      }));
}

TEST_P(BatchStoreTest, TwoReplicasFinishingTheSameLinesCountEachOnce) {
  // A replica that took a batch over while the first still ran its lines.
  BatchStorePtr replica = Open();
  ASSERT_NE(replica, nullptr);
  BatchRecord batch = NewBatch("demo", "file-x");
  std::vector<BatchLine> lines;
  std::vector<LineOutcome> outcomes;
  for (int i = 1; i <= 200; ++i) {
    lines.push_back({i, absl::StrCat("c-", i), "{}"});
    LineOutcome outcome;
    outcome.line_no = i;
    outcome.ok = true;
    outcome.result_line = absl::StrCat("result ", i);
    outcome.cost_micro_usd = 10;
    outcomes.push_back(outcome);
  }
  ASSERT_TRUE(store_->AddLines(batch.id, lines).ok());
  std::vector<LineOutcome> reversed(outcomes.rbegin(), outcomes.rend());
  int first = 0;
  int second = 0;
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    for (size_t i = 0; i < outcomes.size(); i += 20) {
      std::vector<LineOutcome> round(outcomes.begin() + i,
                                     outcomes.begin() + i + 20);
      first += store_->FinishLines(batch.id, round).value_or(-1000);
    }
  });
  threads.emplace_back([&] {
    for (size_t i = 0; i < reversed.size(); i += 20) {
      std::vector<LineOutcome> round(reversed.begin() + i,
                                     reversed.begin() + i + 20);
      second += replica->FinishLines(batch.id, round).value_or(-1000);
    }
  });
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(first + second, 200);
  auto read = store_->GetBatch("demo", batch.id);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->completed, 200);
  EXPECT_EQ(read->cost_micro_usd, 2000);
}

TEST_P(BatchStoreTest, OneReplicaAtATimeClaimsABatchUntilItsLeaseEnds) {
  BatchStorePtr replica = Open();
  ASSERT_NE(replica, nullptr);
  BatchRecord batch = NewBatch("demo", "file-x");
  const absl::Duration kLong = absl::Minutes(5);
  auto claim = [&](BatchStore& store, const std::string& owner,
                   absl::Duration lease) {
    absl::StatusOr<bool> claimed = store.ClaimBatch(batch.id, owner, lease);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    return claimed.value_or(false);
  };
  EXPECT_TRUE(claim(*store_, "runner_a", kLong));
  EXPECT_FALSE(claim(*replica, "runner_b", kLong));
  EXPECT_TRUE(claim(*store_, "runner_a", kLong));  // a renewal
  // Released (a runner that stops): the other takes it at once.
  ASSERT_TRUE(store_->ReleaseBatch(batch.id, "runner_a").ok());
  EXPECT_TRUE(claim(*replica, "runner_b", absl::Seconds(1)));
  EXPECT_FALSE(claim(*store_, "runner_a", kLong));
  // Only its owner releases a claim.
  ASSERT_TRUE(store_->ReleaseBatch(batch.id, "runner_a").ok());
  // runner_b dies and never renews: once its lease passes, runner_a takes
  // the batch over.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  bool taken = false;
  while (!taken && absl::Now() < deadline) {
    taken = claim(*store_, "runner_a", kLong);
    if (!taken) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(taken) << "the lease never ended";
  EXPECT_FALSE(claim(*replica, "runner_b", kLong));
}

}  // namespace
}  // namespace sluice::ingress
