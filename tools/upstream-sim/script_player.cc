// Timer-driven script playback; see script_player.h.
#include "tools/upstream-sim/script_player.h"

#include <boost/asio/steady_timer.hpp>

namespace sluice::sim {

// One script being played. Owned by its pending timer callback.
class ScriptPlayer::Playback : public std::enable_shared_from_this<Playback> {
 public:
  Playback(boost::asio::io_context& io, Script script,
           http::ResponseWriterPtr writer, StepPlayed played)
      : timer_(io),
        script_(std::move(script)),
        writer_(std::move(writer)),
        played_(std::move(played)) {}

  // Runs steps until one has to wait.
  void Run() {
    while (next_ < script_.size()) {
      if (writer_->ClientGone()) return;
      const Step& step = script_[next_];
      if (step.delay > absl::ZeroDuration() && !waited_) {
        waited_ = true;
        timer_.expires_after(absl::ToChronoNanoseconds(step.delay));
        timer_.async_wait(
            [self = shared_from_this()](boost::system::error_code ec) {
              if (!ec) self->Run();
            });
        return;
      }
      waited_ = false;
      ++next_;
      if (played_ != nullptr) played_(step);
      switch (step.action) {
        case Step::Action::kWrite:
          writer_->WriteRaw(step.bytes);
          break;
        case Step::Action::kEnd:
          writer_->EndStream();
          break;
        case Step::Action::kStall:
          break;  // the server keeps the stream open until the client goes
      }
      if (step.action != Step::Action::kWrite) return;
    }
  }

 private:
  boost::asio::steady_timer timer_;
  const Script script_;
  const http::ResponseWriterPtr writer_;
  const StepPlayed played_;
  size_t next_ = 0;
  bool waited_ = false;  // the delay of script_[next_] has passed
};

ScriptPlayer::ScriptPlayer()
    : work_(boost::asio::make_work_guard(io_)),
      thread_([this] { io_.run(); }) {}

ScriptPlayer::~ScriptPlayer() { Stop(); }

void ScriptPlayer::Play(Script script, http::ResponseWriterPtr writer,
                        StepPlayed played) {
  writer->StartStream(200, {{"content-type", "text/event-stream"},
                            {"cache-control", "no-cache"}});
  std::make_shared<Playback>(io_, std::move(script), std::move(writer),
                             std::move(played))
      ->Run();
}

void ScriptPlayer::After(absl::Duration delay, std::function<void()> fn) {
  if (delay <= absl::ZeroDuration()) {
    fn();
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(
      io_, absl::ToChronoNanoseconds(delay));
  timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
    if (!ec) fn();
  });
}

void ScriptPlayer::Stop() {
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice::sim
