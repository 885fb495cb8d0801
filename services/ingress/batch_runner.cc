#include "services/ingress/batch_runner.h"

#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/ingress/batch_file.h"
#include "services/ingress/batch_json.h"
#include "services/ingress/job_line.h"
#include "services/router/price_windows.h"
#include "services/router/pricing.h"
#include "spdlog/spdlog.h"

namespace sluice::ingress {
namespace {

// Errors listed for a failed batch, at most (the first ones, by line).
constexpr size_t kMaxListedErrors = 1000;

}  // namespace

BatchRunnerOptions BatchRunnerOptions::FromConfig(const sluice::v1::JobsConfig& config) {
  BatchRunnerOptions options;
  if (config.batch_concurrency() > 0) options.concurrency = config.batch_concurrency();
  if (config.max_attempts() > 0) options.max_attempts = config.max_attempts();
  if (config.has_batch_finish_reserve()) {
    options.finish_reserve =
        absl::Seconds(config.batch_finish_reserve().seconds()) +
        absl::Nanoseconds(config.batch_finish_reserve().nanos());
  }
  return options;
}

void BatchRunner::Start() {
  thread_ = std::thread([this] { Loop(); });
}

BatchRunner::~BatchRunner() { Stop(); }

void BatchRunner::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void BatchRunner::Stop() {
  stopping_.store(true);
  Wake();
  if (thread_.joinable()) thread_.join();
}

void BatchRunner::Loop() {
  while (!stopping_.load()) {
    JoinFinishedWorkers();
    absl::StatusOr<std::vector<BatchRecord>> active = store_->ActiveBatches();
    if (!active.ok()) {
      spdlog::error("batches: {}", active.status().ToString());
    } else {
      absl::Time now = clock_->Now();
      absl::flat_hash_map<std::string, int> per_tenant;
      for (const auto& [id, worker] : workers_) ++per_tenant[worker.tenant];
      for (const BatchRecord& batch : *active) {
        if (workers_.size() >= static_cast<size_t>(options_.parallel_batches)) break;
        if (workers_.contains(batch.id)) continue;
        // One tenant's batches never take every worker.
        if (per_tenant[batch.tenant] >= options_.parallel_batches_per_tenant) continue;
        // Waiting for cheaper prices, with nothing else to do.
        if (batch.status == kBatchInProgress && now < batch.run_after &&
            now < batch.expires_at) {
          continue;
        }
        // One runner at a time, of whichever replica claims it first.
        absl::Time claimed = absl::Now();
        absl::StatusOr<bool> claim = store_->ClaimBatch(batch.id, owner_, options_.lease);
        if (!claim.ok()) {
          spdlog::error("batches: {}: {}", batch.id, claim.status().ToString());
          continue;
        }
        if (!*claim) continue;  // another replica runs it
        ++per_tenant[batch.tenant];
        workers_[batch.id] = Worker{
            batch.tenant, claimed,
            std::thread([this, tenant = batch.tenant, id = batch.id] { RunBatch(tenant, id); })};
      }
    }
    RenewClaims();
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&woken_), options_.idle_poll);
    woken_ = false;
  }
  for (auto& [id, worker] : workers_) {
    worker.thread.join();
    // Another replica may resume it at once.
    store_->ReleaseBatch(id, owner_).IgnoreError();
  }
  workers_.clear();
}

void BatchRunner::RenewClaims() {
  const absl::Time now = absl::Now();
  for (auto& [id, worker] : workers_) {
    if (now - worker.claimed < options_.lease / 3) continue;
    absl::StatusOr<bool> claim = store_->ClaimBatch(id, owner_, options_.lease);
    if (!claim.ok()) {
      // Tried again at the next pass, while the lease lasts.
      spdlog::warn("batches: {}: renewing its claim: {}", id, claim.status().ToString());
      continue;
    }
    worker.claimed = now;
    if (!*claim) {
      spdlog::warn("batches: {}: another replica took it over; stopping here", id);
      absl::MutexLock lock(&mu_);
      lost_.insert(id);
    }
  }
}

bool BatchRunner::ClaimLost(const std::string& id) {
  absl::MutexLock lock(&mu_);
  return lost_.contains(id);
}

void BatchRunner::RunBatch(const std::string& tenant, const std::string& id) {
  bool failed = false;
  while (!stopping_.load() && !ClaimLost(id)) {
    // Read again each time: a cancel may have come meanwhile.
    absl::StatusOr<BatchRecord> batch = store_->GetBatch(tenant, id);
    if (!batch.ok()) {
      spdlog::error("batches: {}: {}", id, batch.status().ToString());
      failed = true;
      break;
    }
    if (batch->status == kBatchFailed || batch->status == kBatchCompleted ||
        batch->status == kBatchExpired || batch->status == kBatchCancelled) {
      break;
    }
    absl::StatusOr<bool> stepped = Step(*batch);
    if (absl::IsAborted(stepped.status())) continue;  // a cancel moved it
    if (!stepped.ok()) {
      // Stopping: the lines not done wait for a restart.
      if (!stopping_.load()) {
        spdlog::error("batches: {}: {}", id, stepped.status().ToString());
      }
      failed = true;
      break;
    }
    if (!*stepped) break;  // waits for its start
  }
  absl::MutexLock lock(&mu_);
  finished_workers_.push_back(id);
  // The loop joins it and may start another at once; after a failure it
  // waits its idle_poll first (no tight loop on a lasting error).
  if (!failed) woken_ = true;
}

void BatchRunner::JoinFinishedWorkers() {
  std::vector<std::string> finished;
  {
    absl::MutexLock lock(&mu_);
    finished.swap(finished_workers_);
  }
  for (const std::string& id : finished) {
    auto it = workers_.find(id);
    if (it == workers_.end()) continue;
    it->second.thread.join();
    workers_.erase(it);
    // Here, not in the worker: no renewal can take the claim back after.
    bool lost;
    {
      absl::MutexLock lock(&mu_);
      lost = lost_.erase(id) > 0;
    }
    if (lost) continue;
    if (absl::Status released = store_->ReleaseBatch(id, owner_); !released.ok()) {
      spdlog::warn("batches: {}: releasing its claim: {}", id, released.ToString());
    }
  }
}

absl::StatusOr<bool> BatchRunner::Step(BatchRecord& batch) {
  absl::Time now = clock_->Now();
  if (batch.status == kBatchValidating) {
    absl::Status validated = Validate(batch);
    if (!validated.ok()) return validated;
    return true;
  }
  if (batch.status == kBatchCancelling) {
    absl::Status failed = FailUnfinished(
        batch, "batch_cancelled", "The batch was cancelled before this request ran.");
    if (!failed.ok()) return failed;
    absl::Status finalized = Finalize(batch, kBatchCancelled);
    if (!finalized.ok()) return finalized;
    return true;
  }
  if (batch.status == kBatchFinalizing) {
    absl::Status finalized = Finalize(batch, kBatchCompleted);
    if (!finalized.ok()) return finalized;
    return true;
  }
  // in_progress
  absl::StatusOr<std::vector<BatchLine>> pending = store_->PendingLines(batch.id, 0, 1);
  if (!pending.ok()) return pending.status();
  if (pending->empty()) {
    absl::Status finalized = Finalize(batch, kBatchCompleted);
    if (!finalized.ok()) return finalized;
    return true;
  }
  if (now >= batch.expires_at) {
    absl::Status failed = FailUnfinished(
        batch, "batch_expired",
        "This request could not be executed before the completion window expired.");
    if (!failed.ok()) return failed;
    absl::Status finalized = Finalize(batch, kBatchExpired);
    if (!finalized.ok()) return finalized;
    return true;
  }
  if (now < batch.run_after) return false;  // waiting for cheaper prices
  absl::Status ran = RunLines(batch);
  if (!ran.ok()) return ran;
  return true;
}

absl::Status BatchRunner::Validate(BatchRecord& batch) {
  absl::StatusOr<std::string> content = store_->FileContent(batch.tenant, batch.input_file_id);
  BatchFile file;
  if (!content.ok()) {
    if (!absl::IsNotFound(content.status())) return content.status();
    file.errors.push_back({"invalid_file", "The input file no longer exists.",
                           "input_file_id", 0});
  } else {
    file = ParseBatchFile(*content, kMaxListedErrors);
  }
  absl::Time now = clock_->Now();
  if (!file.errors.empty()) {
    batch.status = kBatchFailed;
    batch.failed_at = now;
    batch.errors_json = BatchErrorsJson(file.errors);
    return store_->UpdateBatch(batch, kBatchValidating);
  }
  if (absl::Status added = store_->AddLines(batch.id, file.lines); !added.ok()) return added;
  batch.run_after = now;
  if (!batch.run_now && routes_ != nullptr) {
    std::vector<const sluice::v1::ModelSpec*> specs;
    for (const std::string& model : file.models) {
      absl::StatusOr<routing::RoutePlan> plan = routes_->Resolve(model, batch.tenant, "");
      if (!plan.ok()) continue;  // each such line fails on its own
      for (const routing::Candidate& candidate : plan->candidates) {
        if (candidate.spec != nullptr) specs.push_back(candidate.spec);
      }
    }
    batch.run_after =
        router::CheapestStart(specs, now, batch.expires_at - options_.finish_reserve);
  }
  batch.status = kBatchInProgress;
  batch.in_progress_at = now;
  if (batch.run_after > now) {
    spdlog::info("batches: {} waits for cheaper prices until {}", batch.id,
                 absl::FormatTime(batch.run_after));
  }
  return store_->UpdateBatch(batch, kBatchValidating);
}

absl::Status BatchRunner::RunLines(BatchRecord& batch) {
  absl::StatusOr<std::vector<BatchLine>> lines =
      store_->PendingLines(batch.id, 0, options_.concurrency);
  if (!lines.ok()) return lines.status();
  std::vector<JobTry> work(lines->size());
  std::vector<JobTry*> tries;
  // Retries go on while the batch's window lasts (in real time).
  absl::Time give_up = absl::Now() + (batch.expires_at - clock_->Now());
  for (size_t i = 0; i < lines->size(); ++i) {
    work[i].body = (*lines)[i].body;
    work[i].key_sha256 = batch.key_sha256;
    work[i].deadline = give_up;
    work[i].try_timeout = options_.line_timeout;
    tries.push_back(&work[i]);
  }
  // Each round's finished lines are stored at once: a stop or a crash never
  // runs (and charges) them again.
  // Stops for the gateway stopping, for a claim taken over and for a
  // cancel: it is asked between rounds and while lines wait for their
  // limits.
  auto stop = [this, &batch] {
    if (stopping_.load() || ClaimLost(batch.id)) return true;
    absl::StatusOr<BatchRecord> now = store_->GetBatch(batch.tenant, batch.id);
    return now.ok() && now->status == kBatchCancelling;
  };
  absl::Status ran = tries_.Run(tries, stop, [&](const std::vector<JobTry*>& done) {
    std::vector<LineOutcome> outcomes;
    for (const JobTry* line_work : done) {
      const BatchLine& line = (*lines)[static_cast<size_t>(line_work - work.data())];
      LineOutcome outcome;
      outcome.line_no = line.line_no;
      if (!line_work->exhausted.empty()) {
        outcome.result_line =
            JobErrorLine(line.custom_id, "upstream_failed", line_work->exhausted);
      } else {
        outcome.ok = line_work->status_code == 200;
        outcome.result_line = JobResultLine(line_work->request_id, line.custom_id,
                                            line_work->status_code, line_work->answer_json);
        const sluice::v1::Usage& usage = line_work->usage;
        outcome.prompt_tokens = usage.prompt_tokens();
        outcome.completion_tokens = usage.completion_tokens();
        outcome.cached_tokens = usage.cached_tokens();
        outcome.reasoning_tokens = usage.reasoning_tokens();
        outcome.cost_micro_usd = line_work->price_micro_usd;
        outcome.cost_at_submission_micro_usd =
            RepriceAt(line_work->route, usage, line_work->price_micro_usd,
                      line_work->priced_at, batch.created_at);
      }
      outcomes.push_back(std::move(outcome));
    }
    return store_->FinishLines(batch.id, outcomes).status();
  });
  // Cancelled: the next step writes the lines that did not run (or the
  // claim was lost: the worker stops).
  if (absl::IsUnavailable(ran) && !stopping_.load()) return absl::OkStatus();
  return ran;
}

int64_t BatchRunner::RepriceAt(const std::string& route, const sluice::v1::Usage& usage,
                               int64_t charged_micro_usd, absl::Time charged_at,
                               absl::Time at) const {
  if (routes_ == nullptr || charged_micro_usd == 0) return charged_micro_usd;
  std::pair<std::string, std::string> parts = absl::StrSplit(route, absl::MaxSplits('/', 1));
  const sluice::v1::ModelSpec* spec = routes_->Spec(parts.first, parts.second);
  if (spec == nullptr) return charged_micro_usd;
  int64_t list_then = router::ListPriceMicroUsd(spec, usage, charged_at);
  int64_t list_at = router::ListPriceMicroUsd(spec, usage, at);
  if (list_then == 0) return charged_micro_usd;
  // The charge scaled by the list prices: a cached answer's discount holds.
  return static_cast<int64_t>(std::llround(static_cast<double>(charged_micro_usd) *
                                           static_cast<double>(list_at) /
                                           static_cast<double>(list_then)));
}

absl::Status BatchRunner::FailUnfinished(const BatchRecord& batch, absl::string_view code,
                                         absl::string_view message) {
  while (true) {
    absl::StatusOr<std::vector<BatchLine>> lines = store_->PendingLines(batch.id, 0, 1000);
    if (!lines.ok()) return lines.status();
    if (lines->empty()) return absl::OkStatus();
    std::vector<LineOutcome> outcomes;
    for (const BatchLine& line : *lines) {
      LineOutcome outcome;
      outcome.line_no = line.line_no;
      outcome.result_line = JobErrorLine(line.custom_id, code, message);
      outcomes.push_back(std::move(outcome));
    }
    if (absl::Status finished = store_->FinishLines(batch.id, outcomes).status();
        !finished.ok()) {
      return finished;
    }
  }
}

absl::Status BatchRunner::Finalize(BatchRecord& batch, const char* final_status) {
  absl::Time now = clock_->Now();
  std::string from = batch.status;
  if (from == kBatchInProgress && std::string(final_status) == kBatchCompleted) {
    batch.status = kBatchFinalizing;
    batch.finalizing_at = now;
    if (absl::Status updated = store_->UpdateBatch(batch, from); !updated.ok()) {
      return updated;
    }
    from = kBatchFinalizing;
  }
  for (bool ok : {true, false}) {
    std::string content;
    absl::Status read = store_->ForEachResult(batch.id, ok, [&](const std::string& line) {
      absl::StrAppend(&content, line, "\n");
    });
    if (!read.ok()) return read;
    if (content.empty()) continue;
    // Ids of the batch's own: finalizing again after a crash rewrites the
    // same files instead of leaving orphans.
    StoredFile file_record;
    file_record.id = absl::StrCat("file-", absl::StripPrefix(batch.id, "batch_"),
                                  ok ? "-output" : "-errors");
    file_record.tenant = batch.tenant;
    file_record.purpose = "batch_output";
    file_record.filename = absl::StrCat(batch.id, ok ? "_output.jsonl" : "_error.jsonl");
    file_record.created_at = now;
    absl::StatusOr<StoredFile> file = store_->CreateFile(std::move(file_record), content);
    if (!file.ok()) return file.status();
    (ok ? batch.output_file_id : batch.error_file_id) = file->id;
  }
  std::string final(final_status);
  batch.status = final;
  if (final == kBatchCompleted) batch.completed_at = now;
  if (final == kBatchExpired) batch.expired_at = now;
  if (final == kBatchCancelled) batch.cancelled_at = now;
  return store_->UpdateBatch(batch, from);
}

}  // namespace sluice::ingress
