// A remote caller's cancellation that keeps a stream's last messages.
//
// Co-hosted, a caller that cancels a stream still gets what the callee sends
// while it winds down (a cut chat stream's usage) and then its Done. Over
// gRPC a cancelled RPC delivers nothing more, so a client that wants those
// messages opens the stream with a call id (kCallIdKey) and, when its
// context is cancelled, asks the server to wind the call down (a unary
// Cancel RPC of the component) instead of cutting it: the server cancels the
// call's context as if its caller had gone and the stream ends by itself.
// The client cuts the RPC after a grace period, or at once when the server
// knows no such call. StreamCancels is the server's side: the streams open
// under an id.
#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/host/call_context.h"

namespace sluice::host {

// The metadata key of a stream's call id.
inline constexpr absl::string_view kCallIdKey = "x-sluice-call-id";

// 32 random hex digits.
std::string NewCallId();

// Thread-safe.
class StreamCancels {
 public:
  // Registers the context of a stream opened under `id` (nothing when empty).
  void Add(const std::string& id, const CallContextPtr& context);
  void Remove(const std::string& id);
  // Cancels the context of the stream opened under `id`; false when there is
  // none (it has ended, or not begun).
  bool Cancel(const std::string& id);

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::weak_ptr<CallContext>> streams_
      ABSL_GUARDED_BY(mu_);
};

// The client's side: how a cancelled stream is wound down.
struct WindDown {
  // Asks the server to wind the call `call_id` down; `done(found)` follows
  // (false, or a failed ask: the client cuts the RPC at once).
  absl::AnyInvocable<void(const std::string& call_id,
                          absl::AnyInvocable<void(bool found) &&> done)>
      ask;
  // How long the server has before the client cuts the RPC.
  absl::Duration grace = absl::Seconds(2);
};

}  // namespace sluice::host
