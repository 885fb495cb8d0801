// The Batch API's store on a real SQLite database: tenants see only their
// own objects, a line's result counts once, and a status written by the
// runner never overwrites a cancel that came meanwhile.
#include "services/ingress/batch_store.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sluice::ingress {
namespace {

class BatchStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = BatchStore::Open(":memory:");
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
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
    EXPECT_TRUE(store_->CreateBatch(batch).ok());
    return batch;
  }

  std::unique_ptr<BatchStore> store_;
};

TEST_F(BatchStoreTest, FilesBelongToTheirTenant) {
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

TEST_F(BatchStoreTest, ListsNewestFirstAfterACursor) {
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

TEST_F(BatchStoreTest, ALineCountsOnce) {
  BatchRecord batch = NewBatch("demo", "file-x");
  ASSERT_TRUE(store_->AddLines(batch.id, {{1, "a", "{}"}, {2, "b", "{}"}}).ok());
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
  ASSERT_TRUE(store_->ForEachResult(batch.id, true, [&](const std::string& line) {
                      results.push_back(line);
                    }).ok());
  EXPECT_EQ(results, std::vector<std::string>{"result a"});
}

TEST_F(BatchStoreTest, ACancelIsNeverOverwritten) {
  BatchRecord batch = NewBatch("demo", "file-x");
  EXPECT_TRUE(absl::IsNotFound(
      store_->RequestCancel("acme", batch.id, absl::FromUnixSeconds(1001)).status()));
  auto cancelling = store_->RequestCancel("demo", batch.id, absl::FromUnixSeconds(1001));
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
  EXPECT_TRUE(store_->RequestCancel("demo", batch.id, absl::FromUnixSeconds(1002)).ok());
  read->status = kBatchCancelled;
  ASSERT_TRUE(store_->UpdateBatch(*read, kBatchCancelling).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      store_->RequestCancel("demo", batch.id, absl::FromUnixSeconds(1003)).status()));
}

}  // namespace
}  // namespace sluice::ingress
