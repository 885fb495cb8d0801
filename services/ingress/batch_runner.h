// Runs the batches of OpenAI's Batch API: validates a new batch's input file
// (every line, with its line number in `errors`), decides when its lines
// start (at once, or at the cheapest prices inside its completion window
// when the catalog has time-windowed prices), runs its lines through the
// edge as batch work under the key that made it, and writes the output and
// error files. Cancelled or expired batches write every line that did not
// run to the error file, so each line ends with exactly one result.
//
// Everything lives in the BatchStore: a replica that restarts picks its
// batches up where they were (lines that were running at the crash run
// again; a line's result is kept once). Runners of several replicas may
// share a store (PostgreSQL): each batch runs under a claim with a lease
// that its runner renews, so one runner at a time runs it, and another
// takes it over once a runner that died has let the lease pass.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/host/clock.h"
#include "libs/routing/route_table.h"
#include "services/ingress/batch_store.h"
#include "services/ingress/chat_edge.h"
#include "services/ingress/job_tries.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

struct BatchRunnerOptions {
  // Lines of one batch in flight at once.
  int concurrency = 64;
  // Batches run at once, each on its own thread: one tenant's batch that
  // waits for its rate limits does not hold up another's.
  int parallel_batches = 8;
  int parallel_batches_per_tenant = 2;
  int max_attempts = 3;
  absl::Duration retry_backoff = absl::Milliseconds(500);
  // Each try of a line ends by then (its retries go on until the batch
  // expires).
  absl::Duration line_timeout = absl::Minutes(10);
  // A deferred batch starts no later than this before it expires.
  absl::Duration finish_reserve = absl::Hours(2);
  // How often the runner looks for work when nothing woke it.
  absl::Duration idle_poll = absl::Milliseconds(200);
  // A claim on a batch lasts this long unless renewed (every third of it
  // while the batch runs): how long a dead replica's batch waits for
  // another.
  absl::Duration lease = absl::Seconds(30);

  static BatchRunnerOptions FromConfig(const sluice::v1::JobsConfig& config);
};

class BatchRunner {
 public:
  // Everything passed in outlives the runner.
  BatchRunner(const BatchRunnerOptions& options, ChatEdge* edge, UsageReporter* usage,
              BatchStore* store, const routing::RouteTable* routes,
              const host::Clock* clock)
      : options_(options),
        tries_(edge, usage, clock, options.max_attempts, options.retry_backoff),
        store_(store), routes_(routes), clock_(clock) {}
  ~BatchRunner();

  // Starts the thread that runs batches (those left running by an earlier
  // process first).
  void Start();

  // A batch was created or cancelled, or the clock moved: look now.
  void Wake();
  // Lines running give up their retries and stay unfinished (they run
  // after a restart); call before the edge drains.
  void Stopping() { stopping_.store(true); }
  // Joins the thread (after the edge drained).
  void Stop();

 private:
  // Starts a worker for each batch that has something to do (up to
  // parallel_batches), and joins the workers that are done.
  void Loop();
  // A worker: steps one batch until it is finished or waits for its start.
  void RunBatch(const std::string& tenant, const std::string& id);
  // Joins the workers that are done and releases their claims.
  void JoinFinishedWorkers();
  // Renews the claims of running batches that are due; a batch whose claim
  // another runner took meanwhile is lost: its worker stops.
  void RenewClaims();
  bool ClaimLost(const std::string& id);
  // One step of `batch`; true when it did something (more may follow).
  absl::StatusOr<bool> Step(BatchRecord& batch);
  // validating → in_progress (lines stored, start planned) or failed.
  absl::Status Validate(BatchRecord& batch);
  // Runs the next lines of an in-progress batch (at most `concurrency`).
  absl::Status RunLines(BatchRecord& batch);
  // Every unfinished line gets `code` in the error file.
  absl::Status FailUnfinished(const BatchRecord& batch, absl::string_view code,
                              absl::string_view message);
  // Writes the output and error files and ends in `final_status`.
  absl::Status Finalize(BatchRecord& batch, const char* final_status);
  // What a line's usage would have cost at the prices of `at`, given what
  // it was charged at the prices of `charged_at` on `route`.
  int64_t RepriceAt(const std::string& route, const sluice::v1::Usage& usage,
                    int64_t charged_micro_usd, absl::Time charged_at,
                    absl::Time at) const;

  const BatchRunnerOptions options_;
  const JobTries tries_;
  BatchStore* const store_;
  const routing::RouteTable* const routes_;
  const host::Clock* const clock_;
  // This runner's name in the store's claims.
  const std::string owner_ = NewObjectId("runner_");
  std::atomic<bool> stopping_{false};
  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  // Batch id → its worker (touched by the loop's thread only), and the ids
  // whose workers have returned.
  struct Worker {
    std::string tenant;
    absl::Time claimed;  // when its claim was last taken or renewed (real time)
    std::thread thread;
  };
  absl::flat_hash_map<std::string, Worker> workers_;
  std::vector<std::string> finished_workers_ ABSL_GUARDED_BY(mu_);
  // Batches whose claim another runner took.
  absl::flat_hash_set<std::string> lost_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace sluice::ingress
