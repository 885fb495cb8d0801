// A one-shot timer for a call's waits (a retry's backoff, a deadline): it
// fires on gRPC's alarm threads, with no RPC involved.
#pragma once

#include <memory>
#include <utility>

#include <grpcpp/alarm.h>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"

namespace sluice::host {

class Timer {
 public:
  // Calls `fire(true)` at `when`, or `fire(false)` soon after Cancel():
  // exactly once, on another thread. Once per Timer. The timer must stay
  // alive until `fire` has run (the owner's closure usually holds it).
  // `fire` is destroyed as soon as it has run, so it may hold the timer's
  // owner: grpc::Alarm keeps its callback until the alarm itself goes,
  // which would otherwise make a cycle that nothing breaks.
  void Set(absl::Time when, absl::AnyInvocable<void(bool) &&> fire) {
    auto shared =
        std::make_shared<absl::AnyInvocable<void(bool) &&>>(std::move(fire));
    alarm_.Set(absl::ToChronoTime(when), [shared](bool fired) {
      auto run = std::move(*shared);
      std::move(run)(fired);
    });
  }
  void Cancel() { alarm_.Cancel(); }

 private:
  grpc::Alarm alarm_;
};

}  // namespace sluice::host
