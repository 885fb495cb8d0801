// A write-ahead journal of usage events, so that an ingress process that
// dies (SIGKILL, OOM, power) loses no usage record: a request is journaled
// when it is routed (its tenant, key and model known) and again with its
// final event when it finishes; a request's records stay on disk until that
// event is durable (delivered to Kafka, or in the disk spool). The next
// process to take the journal's slot reads what was left: each finished
// event again (metering counts a request id once), and for each request
// that never finished an event saying so (status 500, error type
// "gateway_restarted", tokens unknown). So every request has exactly one
// usage record, whatever happens to the process.
//
// Records go to the active segment file with one write(2) each (a crash of
// the process loses nothing written; the kernel flushes it); a new segment
// starts every `rotate_every`, and a segment's file is deleted when the
// last request holding a record in it lets go.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/kafka/record_file.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::ingress {

class UsageJournal {
 public:
  struct Options {
    std::string dir;
    absl::Duration rotate_every = absl::Seconds(2);
  };
  // One request's hold on the segments its records are in.
  class Entry;
  using EntryPtr = std::shared_ptr<Entry>;

  // Takes a free slot of `options.dir` and reads what earlier processes
  // left in it into `leftover` (see above). Journal each of them again
  // (Finish with a null entry) before DropLeftovers().
  static absl::StatusOr<std::unique_ptr<UsageJournal>> Open(
      Options options, std::vector<sluice::v1::UsageEvent>* leftover);
  // Flushes nothing (every record is written at once); releases the slot.
  ~UsageJournal();

  // Journals a request being routed. Thread-safe, never blocks on the
  // network.
  EntryPtr Begin(const sluice::v1::UsageEvent& event);
  // Journals a request's final event (`serialized`), holding the segment
  // it goes to in `entry` too (a null entry: a new one). Drop the entry
  // once the event is durable.
  EntryPtr Finish(EntryPtr entry, const std::string& serialized);
  // Deletes what earlier processes left in this slot.
  void DropLeftovers();

 private:
  class Segment;
  explicit UsageJournal(Options options) : options_(std::move(options)) {}
  // The segment to append to (a new one when the active one is old).
  std::shared_ptr<Segment> Active() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Append(char kind, const std::string& serialized, Entry& entry);

  const Options options_;
  kafka::HeldSlot slot_;
  std::vector<std::string> leftover_files_;
  absl::Mutex mu_;
  std::shared_ptr<Segment> active_ ABSL_GUARDED_BY(mu_);
  absl::Time active_since_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace sluice::ingress
