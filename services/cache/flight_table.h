// Single-flight: identical cacheable requests in flight at once make one
// upstream call. The first becomes the leader; the others follow: they get
// the leader's chunks so far at once, then each new one as it comes, then
// the whole answer, or word that the leader failed (they then go upstream
// themselves).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::cache {

// A follower. Its calls come under the table's lock: they must be quick and
// must not call back into the table.
class FlightListener {
 public:
  virtual ~FlightListener() = default;
  virtual void OnChunk(const sluice::v1::ChatChunk& chunk) = 0;
  // The last call: the leader's whole answer...
  virtual void OnDone(const sluice::v1::ChatResponse& response) = 0;
  // ...or the leader failed.
  virtual void OnFailed() = 0;
};

class FlightTable {
 public:
  // A flight whose leader has not begun filling after `fill_deadline`, or
  // that is older than `max_age`, is failed when the next request for its
  // key comes (the leader died or lost its way).
  FlightTable(absl::Duration fill_deadline = absl::Seconds(10),
              absl::Duration max_age = absl::Minutes(15));

  struct Joined {
    bool lead = false;
    // `stored` said the answer is there now: neither lead nor follow.
    bool served = false;
    // The leader's token for Fill: "<key>:<flight id>".
    std::string lease;
  };
  // Leads a new flight for `key`, or follows the one in flight: `listener`
  // then gets the chunks so far before this returns, and must stay alive
  // until its OnDone() or OnFailed(). With no flight in flight, `stored`
  // (if given) is asked first, under the table's lock, whether the answer
  // has been stored meanwhile: a flight that just ended stored its answer
  // before it left the table, so a caller whose cache read raced that store
  // does not make a second upstream call.
  Joined JoinOrLead(const std::string& key, FlightListener* listener,
                    absl::Time now,
                    const std::function<bool()>& stored = nullptr);

  // The leader's side, by lease; a stale lease (its flight failed or
  // finished) is ignored and returns false.
  bool BeginFill(const std::string& lease);
  bool Chunk(const std::string& lease, const sluice::v1::ChatChunk& chunk);
  bool Done(const std::string& lease, const sluice::v1::ChatResponse& response);
  bool Fail(const std::string& lease);
  // Fails the flight if its leader has not begun filling (for a timer).
  void FailIfNotFilling(const std::string& lease);

  // The key a lease is for.
  static std::string KeyOf(const std::string& lease);
  size_t in_flight() const;

 private:
  struct Flight {
    uint64_t id = 0;
    absl::Time started;
    bool filling = false;
    std::vector<sluice::v1::ChatChunk> chunks;
    std::vector<FlightListener*> followers;
  };

  // The flight of a lease, or null when it is stale.
  Flight* FindLocked(const std::string& lease) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration fill_deadline_;
  const absl::Duration max_age_;
  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<std::string, Flight> flights_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::cache
