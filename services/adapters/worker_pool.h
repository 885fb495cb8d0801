// Several worker processes serving one model, and which of them a request
// goes to. Prefix-aware: each worker publishes (Info) the chained hashes of
// the message prefixes its slots hold; a request goes to the worker holding
// the longest prefix of it, weighed against load, so that requests sharing a
// system prompt or a few-shot header land where its KV already is. No
// prefix held anywhere: the least loaded worker. What a request was sent to
// counts at once (Info refreshes every `refresh`), so a burst spreads.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/worker/worker.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::adapters {

class WorkerPool {
 public:
  struct Member {
    std::string name;  // its address, for the route reason
    std::shared_ptr<worker::Worker> worker;
  };
  struct Choice {
    int index = -1;
    worker::Worker* worker = nullptr;
    // e.g. "worker=127.0.0.1:4001 prefix=812/900B load=0.50"
    std::string reason;
  };

  WorkerPool(std::vector<Member> members, bool prefix_aware,
             absl::Duration refresh = absl::Milliseconds(100));
  ~WorkerPool();

  Choice Pick(const sluice::v1::ChatRequest& request);
  // The request sent by Pick() to `index` has ended.
  void Release(int index);

 private:
  struct State {
    absl::flat_hash_set<uint64_t> prefixes;  // from Info, plus ours since
    // What we sent that the worker's Info does not show yet: when, the
    // prompt's chain, and whether it found no prefix there.
    struct Sent {
      absl::Time when;
      std::vector<uint64_t> chain;
      bool cold = false;
    };
    std::vector<Sent> sent;
    int slots = 1;
    int cached_prompts = 0;  // slots holding a prompt, as Info said (+ ours)
    int prompt_room = 1;     // prompts it can hold: slots + cache slots
    int busy_elsewhere = 0;  // running + waiting that other routers sent
    int in_flight = 0;       // ours, now
    int64_t picks = 0;       // ours, ever
    bool reachable = true;
  };
  void RefreshLoop();
  void RefreshOnce();

  const std::vector<Member> members_;
  const bool prefix_aware_;
  const absl::Duration refresh_;
  absl::Mutex mu_;
  std::vector<State> states_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;  // round robin, and ties
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread refresher_;
};

}  // namespace sluice::adapters
