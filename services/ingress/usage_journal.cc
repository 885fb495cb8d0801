#include "services/ingress/usage_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace sluice::ingress {
namespace {

constexpr char kSuffix[] = ".journal";
// Record keys: a request routed, a request's final event.
constexpr char kBegun = 'B';
constexpr char kFinished = 'F';

// The event of a request the dead process never finished.
sluice::v1::UsageEvent Interrupted(sluice::v1::UsageEvent begun) {
  begun.set_status(500);
  begun.set_error_type("gateway_restarted");
  sluice::v1::Usage* usage = begun.mutable_usage();
  usage->Clear();
  // What the provider used is not known: say so rather than claim zero.
  usage->set_estimated(true);
  usage->set_prompt_tokens_estimated(true);
  usage->set_completion_tokens_estimated(true);
  usage->set_cached_tokens_estimated(true);
  usage->set_reasoning_tokens_estimated(true);
  absl::Time now = absl::Now();
  begun.mutable_time()->set_seconds(absl::ToUnixSeconds(now));
  return begun;
}

}  // namespace

// A segment file, deleted when the journal and every entry holding it let
// go (a crash leaves it for the next process).
class UsageJournal::Segment {
 public:
  Segment(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~Segment() {
    close(fd_);
    unlink(path_.c_str());
  }
  bool Write(const std::string& record) {
    return write(fd_, record.data(), record.size()) ==
           static_cast<ssize_t>(record.size());
  }
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  const int fd_;
};

class UsageJournal::Entry {
 public:
  void Hold(std::shared_ptr<Segment> segment) {
    absl::MutexLock lock(&mu_);
    if (std::find(held_.begin(), held_.end(), segment) == held_.end()) {
      held_.push_back(std::move(segment));
    }
  }

 private:
  absl::Mutex mu_;
  std::vector<std::shared_ptr<Segment>> held_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<UsageJournal>> UsageJournal::Open(
    Options options, std::vector<sluice::v1::UsageEvent>* leftover) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("usage journal: no directory");
  }
  std::unique_ptr<UsageJournal> journal(new UsageJournal(std::move(options)));
  absl::StatusOr<kafka::HeldSlot> slot =
      kafka::TakeFreeSlot(journal->options_.dir, "usage journal");
  if (!slot.ok()) return slot.status();
  journal->slot_ = *slot;
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(journal->slot_.dir, error)) {
    if (absl::EndsWith(entry.path().filename().string(), kSuffix)) {
      files.push_back(entry.path().string());
    }
  }
  if (error) {
    return absl::UnavailableError(absl::StrCat(
        "usage journal: cannot list ", journal->slot_.dir, ": ",
        error.message()));
  }
  std::sort(files.begin(), files.end());  // zero-padded sequences
  // By request id: what was begun, and the final event if it came.
  struct Request {
    sluice::v1::UsageEvent begun;
    std::string finished;
  };
  std::map<std::string, Request> requests;
  for (const std::string& file : files) {
    for (auto& [kind, value] :
         kafka::DecodeRecords(file, kafka::ReadWholeFile(file))) {
      sluice::v1::UsageEvent event;
      if (kind.size() != 1 || !event.ParseFromString(value)) continue;
      Request& request = requests[event.request_id()];
      if (kind[0] == kFinished) {
        request.finished = std::move(value);
      } else if (kind[0] == kBegun) {
        request.begun = std::move(event);
      }
    }
  }
  int finished = 0, interrupted = 0;
  for (auto& [id, request] : requests) {
    sluice::v1::UsageEvent event;
    if (!request.finished.empty() && event.ParseFromString(request.finished)) {
      ++finished;
    } else if (!request.begun.request_id().empty()) {
      event = Interrupted(std::move(request.begun));
      ++interrupted;
    } else {
      continue;
    }
    leftover->push_back(std::move(event));
  }
  if (!files.empty()) {
    spdlog::warn(
        "usage journal: {} left by a process that stopped: {} usage events "
        "sent again, {} requests it never finished metered as "
        "gateway_restarted",
        journal->slot_.dir, finished, interrupted);
  }
  journal->leftover_files_ = std::move(files);
  {
    absl::MutexLock lock(&journal->mu_);
    for (const std::string& file : journal->leftover_files_) {
      uint64_t sequence = 0;
      std::string name = std::filesystem::path(file).stem().string();
      if (absl::SimpleAtoi(name, &sequence)) {
        journal->next_sequence_ = std::max(journal->next_sequence_, sequence + 1);
      }
    }
  }
  return journal;
}

UsageJournal::~UsageJournal() {
  {
    absl::MutexLock lock(&mu_);
    active_.reset();  // deleted now unless a request still holds it
  }
  if (slot_.lock_fd >= 0) close(slot_.lock_fd);
}

void UsageJournal::DropLeftovers() {
  for (const std::string& file : leftover_files_) unlink(file.c_str());
  leftover_files_.clear();
}

std::shared_ptr<UsageJournal::Segment> UsageJournal::Active() {
  absl::Time now = absl::Now();
  if (active_ != nullptr && now - active_since_ < options_.rotate_every) {
    return active_;
  }
  std::string path =
      absl::StrFormat("%s/%020u%s", slot_.dir, next_sequence_++, kSuffix);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    spdlog::error("usage journal: cannot open {}: {}", path,
                  std::strerror(errno));
    return active_;  // the old one, or none
  }
  active_ = std::make_shared<Segment>(std::move(path), fd);
  active_since_ = now;
  return active_;
}

void UsageJournal::Append(char kind, const std::string& serialized,
                          Entry& entry) {
  const std::string record =
      kafka::EncodeRecord(absl::string_view(&kind, 1), serialized);
  std::shared_ptr<Segment> segment;
  {
    absl::MutexLock lock(&mu_);
    segment = Active();
    // Under the lock: records of one request stay in order across
    // segments, and a rotation cannot delete a file being written.
    if (segment != nullptr && !segment->Write(record)) {
      spdlog::error("usage journal: write to {} failed: {}", segment->path(),
                    std::strerror(errno));
      return;
    }
  }
  if (segment != nullptr) entry.Hold(std::move(segment));
}

UsageJournal::EntryPtr UsageJournal::Begin(
    const sluice::v1::UsageEvent& event) {
  auto entry = std::make_shared<Entry>();
  Append(kBegun, event.SerializeAsString(), *entry);
  return entry;
}

UsageJournal::EntryPtr UsageJournal::Finish(EntryPtr entry,
                                            const std::string& serialized) {
  if (entry == nullptr) entry = std::make_shared<Entry>();
  Append(kFinished, serialized, *entry);
  return entry;
}

}  // namespace sluice::ingress
