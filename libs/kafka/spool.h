// A bounded on-disk queue of Kafka messages (key, value) that could not be
// produced, so they survive a broker outage and a restart: append-only
// segment files in one directory, each record written to the file at once
// (a crash of the process loses nothing appended) and fdatasync'ed in
// batches by a background thread (a power loss loses at most the last
// sync_interval), read back oldest segment first and deleted once every
// message of it was delivered.
//
// Records are framed as record_file.h says: a torn or corrupt tail (a crash
// mid-write) ends its segment, and what precedes it is read back.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace sluice::kafka {

class Spool {
 public:
  struct Options {
    std::string dir;
    // Past it Append refuses (and counts) records.
    int64_t max_bytes = int64_t{1} << 30;
    // A segment is sealed (closed, synced) at about this size.
    int64_t segment_bytes = int64_t{8} << 20;
    // How often appended records are flushed and fdatasync'ed.
    absl::Duration sync_interval = absl::Milliseconds(50);
  };

  // A sealed segment's records, as TakeOldest read them.
  struct Segment {
    uint64_t sequence = 0;
    std::vector<std::pair<std::string, std::string>> records;
  };

  // Creates `dir` if needed and takes the first of its slots ("slot-0",
  // "slot-1", ...) no other process holds (an flock held while this lives),
  // so replicas sharing a config never share segments; segments already in
  // that slot (a previous process's) are queued first.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(Options options);
  // Flushes and syncs what was appended.
  ~Spool();

  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends one record without waiting for the disk to sync it (the sync
  // thread makes it durable within sync_interval). False when the spool is full
  // or the write failed: the record is dropped and counted.
  bool Append(absl::string_view key, absl::string_view value);

  // The oldest segment's records, sealing the segment being written when it
  // is the only one; nullopt when the spool is empty. The segment stays in
  // the spool (and is returned again) until Remove.
  std::optional<Segment> TakeOldest();
  // Deletes a segment TakeOldest returned (its records were delivered).
  void Remove(const Segment& segment);

  // Records and bytes waiting (sealed and being written), and records
  // refused since Open.
  int64_t records() const;
  int64_t bytes() const;
  int64_t dropped() const;

 private:
  struct SegmentFile {
    uint64_t sequence = 0;
    int64_t bytes = 0;
    int64_t records = 0;
  };

  explicit Spool(Options options) : options_(std::move(options)) {}
  // Locks the first free slot under options_.dir and points dir_ at it.
  absl::Status TakeSlot();
  std::string PathOf(uint64_t sequence) const;
  // Closes the segment being written and queues it for reading.
  void SealActive() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SyncLoop();

  const Options options_;
  // The slot directory this spool holds, and its lock file.
  std::string dir_;
  int lock_fd_ = -1;
  mutable absl::Mutex mu_;
  std::deque<SegmentFile> sealed_ ABSL_GUARDED_BY(mu_);
  // The segment being written (-1 when none is).
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  SegmentFile active_ ABSL_GUARDED_BY(mu_);
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  // A segment file was created since the directory was last synced.
  bool new_file_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t records_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification stop_;
  std::thread syncer_;
};

}  // namespace sluice::kafka
