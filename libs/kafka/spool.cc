#include "libs/kafka/spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/kafka/record_file.h"
#include "libs/process/thread_name.h"
#include "spdlog/spdlog.h"

namespace sluice::kafka {
namespace {

constexpr char kSuffix[] = ".spool";

}  // namespace

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(Options options) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("spool: no directory");
  }
  std::error_code error;
  std::filesystem::create_directories(options.dir, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat(
        "spool: cannot create ", options.dir, ": ", error.message()));
  }
  std::unique_ptr<Spool> spool(new Spool(std::move(options)));
  if (absl::Status taken = spool->TakeSlot(); !taken.ok()) return taken;
  std::vector<SegmentFile> found;
  for (const auto& entry :
       std::filesystem::directory_iterator(spool->dir_, error)) {
    std::string name = entry.path().filename().string();
    uint64_t sequence = 0;
    if (!absl::EndsWith(name, kSuffix) ||
        !absl::SimpleAtoi(name.substr(0, name.size() - strlen(kSuffix)),
                          &sequence)) {
      continue;
    }
    std::string path = entry.path().string();
    std::string data = ReadWholeFile(path);
    SegmentFile segment{sequence, static_cast<int64_t>(data.size()),
                        static_cast<int64_t>(DecodeRecords(path, data).size())};
    found.push_back(segment);
  }
  if (error) {
    return absl::UnavailableError(absl::StrCat(
        "spool: cannot list ", spool->dir_, ": ", error.message()));
  }
  std::sort(found.begin(), found.end(),
            [](const SegmentFile& a, const SegmentFile& b) {
              return a.sequence < b.sequence;
            });
  {
    absl::MutexLock lock(&spool->mu_);
    for (const SegmentFile& segment : found) {
      spool->sealed_.push_back(segment);
      spool->bytes_ += segment.bytes;
      spool->records_ += segment.records;
      spool->next_sequence_ = segment.sequence + 1;
    }
  }
  if (!found.empty()) {
    spdlog::info("spool: {} records from before in {}", spool->records(),
                 spool->dir_);
  }
  Spool* self = spool.get();
  spool->syncer_ = std::thread([self] {
    process::NameThisThread("sluice-spool");
    self->SyncLoop();
  });
  return spool;
}

Spool::~Spool() {
  if (syncer_.joinable()) {
    stop_.Notify();
    syncer_.join();
  }
  {
    absl::MutexLock lock(&mu_);
    SealActive();
  }
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the slot
}

absl::Status Spool::TakeSlot() {
  absl::StatusOr<HeldSlot> slot = TakeFreeSlot(options_.dir, "spool");
  if (!slot.ok()) return slot.status();
  dir_ = slot->dir;
  lock_fd_ = slot->lock_fd;
  return absl::OkStatus();
}

std::string Spool::PathOf(uint64_t sequence) const {
  return absl::StrFormat("%s/%020u%s", dir_, sequence, kSuffix);
}

bool Spool::Append(absl::string_view key, absl::string_view value) {
  const std::string record = EncodeRecord(key, value);

  absl::MutexLock lock(&mu_);
  if (bytes_ + static_cast<int64_t>(record.size()) > options_.max_bytes) {
    ++dropped_;
    return false;
  }
  if (fd_ < 0) {
    active_ = SegmentFile{next_sequence_++, 0, 0};
    fd_ = open(PathOf(active_.sequence).c_str(),
               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      spdlog::error("spool: cannot open {}: {}", PathOf(active_.sequence),
                    std::strerror(errno));
      ++dropped_;
      return false;
    }
    new_file_ = true;
  }
  ssize_t written = write(fd_, record.data(), record.size());
  if (written != static_cast<ssize_t>(record.size())) {
    spdlog::error("spool: write to {} failed: {}", PathOf(active_.sequence),
                  written < 0 ? std::strerror(errno) : "short write");
    // A partial record would end the segment for readers: start a new one.
    if (written > 0) SealActive();
    ++dropped_;
    return false;
  }
  active_.bytes += static_cast<int64_t>(record.size());
  ++active_.records;
  bytes_ += static_cast<int64_t>(record.size());
  ++records_;
  dirty_ = true;
  if (active_.bytes >= options_.segment_bytes) SealActive();
  return true;
}

void Spool::SealActive() {
  if (fd_ < 0) return;
  fdatasync(fd_);
  close(fd_);
  fd_ = -1;
  dirty_ = false;
  sealed_.push_back(active_);
  active_ = SegmentFile{};
}

void Spool::SyncLoop() {
  while (!stop_.WaitForNotificationWithTimeout(options_.sync_interval)) {
    int fd = -1;
    bool new_file = false;
    {
      absl::MutexLock lock(&mu_);
      new_file = std::exchange(new_file_, false);
      if (dirty_ && fd_ >= 0) {
        dirty_ = false;
        // Synced outside the lock, on a duplicate that stays open if the
        // segment is sealed meanwhile, so appends never wait for the disk.
        fd = dup(fd_);
      }
    }
    if (fd >= 0) {
      fdatasync(fd);
      close(fd);
    }
    // A new segment's name must survive a power loss as well as its bytes.
    if (new_file) {
      int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
      if (dir >= 0) {
        fsync(dir);
        close(dir);
      }
    }
  }
}

std::optional<Spool::Segment> Spool::TakeOldest() {
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&mu_);
    if (sealed_.empty() && fd_ >= 0 && active_.records > 0) {
      SealActive();
    }
    if (sealed_.empty()) return std::nullopt;
    sequence = sealed_.front().sequence;
  }
  // A sealed segment is never written again: read it without the lock.
  std::string path = PathOf(sequence);
  Segment segment;
  segment.sequence = sequence;
  segment.records = DecodeRecords(path, ReadWholeFile(path));
  return segment;
}

void Spool::Remove(const Segment& segment) {
  absl::MutexLock lock(&mu_);
  auto it = std::find_if(sealed_.begin(), sealed_.end(),
                         [&](const SegmentFile& file) {
                           return file.sequence == segment.sequence;
                         });
  if (it == sealed_.end()) return;
  std::error_code error;
  std::filesystem::remove(PathOf(it->sequence), error);
  if (error) {
    spdlog::error("spool: cannot delete {}: {}", PathOf(it->sequence),
                  error.message());
  }
  bytes_ -= it->bytes;
  records_ -= it->records;
  sealed_.erase(it);
}

int64_t Spool::records() const {
  absl::MutexLock lock(&mu_);
  return records_;
}

int64_t Spool::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

int64_t Spool::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

}  // namespace sluice::kafka
