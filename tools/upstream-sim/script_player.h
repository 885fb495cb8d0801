// Plays a Script on a ResponseWriter with asio timers, so that delays never
// block an HTTP I/O thread: hundreds of slow streams share one timer thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <thread>

#include "absl/time/time.h"
#include "libs/http/server.h"
#include "tools/upstream-sim/script.h"

namespace sluice::sim {

class ScriptPlayer {
 public:
  ScriptPlayer();
  ~ScriptPlayer();  // Stop()s

  // Called for each step as it is played (just before it is written, ended
  // or stalled), so a client that has read it finds it counted.
  using StepPlayed = std::function<void(const Step&)>;

  // Starts the stream (200, text/event-stream) and plays `script`; the steps
  // without delay run at once on the calling thread. A step is not played
  // once the client has gone.
  void Play(Script script, http::ResponseWriterPtr writer,
            StepPlayed played = nullptr);
  // Runs `fn` after `delay` on the timer thread (at once if not positive).
  void After(absl::Duration delay, std::function<void()> fn);
  // Drops every pending step and joins the timer thread. Idempotent.
  void Stop();

 private:
  class Playback;

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_;
  std::thread thread_;
};

}  // namespace sluice::sim
