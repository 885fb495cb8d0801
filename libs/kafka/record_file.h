// Append-only files of (key, value) records, each framed by its length and
// a CRC-32 so that a torn or corrupt tail (a crash mid-write) ends the file
// for readers and what precedes it is kept; and per-process slots of a
// directory, so that processes sharing a config never share files. Used by
// the Kafka spool and by ingress's usage journal.
//
// Record layout: u32 payload length, u32 CRC-32 of the payload, payload =
// u32 key length, key, value (little-endian).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::kafka {

// One framed record.
std::string EncodeRecord(absl::string_view key, absl::string_view value);
// The records of `data` (the contents of the file at `path`, named in a
// warning about a torn tail), up to the first torn or corrupt one.
std::vector<std::pair<std::string, std::string>> DecodeRecords(
    const std::string& path, absl::string_view data);
// The whole file; empty when it cannot be read.
std::string ReadWholeFile(const std::string& path);

// A slot directory this process holds (its lock file's flock) until
// `lock_fd` is closed.
struct HeldSlot {
  std::string dir;
  int lock_fd = -1;
};
// The first of `dir`'s slots ("slot-0", "slot-1", ...) no live process
// holds, created if needed; `what` names the user in errors.
absl::StatusOr<HeldSlot> TakeFreeSlot(const std::string& dir,
                                      absl::string_view what);

}  // namespace sluice::kafka
