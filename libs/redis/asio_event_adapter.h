// Drives one hiredis async context from a Boost.Asio io_context (hiredis
// 0.14 ships no Asio adapter): hiredis' addRead/delRead/addWrite/delWrite
// hooks become async_wait calls on a posix::stream_descriptor over the
// context's socket, and readiness becomes redisAsyncHandleRead/Write.
// Everything runs on the io_context's one thread.
//
// The adapter owns itself while attached and lets go when hiredis calls the
// cleanup hook (the context is freed right after); waits still pending then
// complete as aborted and touch nothing. The socket stays hiredis' to close.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>

struct redisAsyncContext;

namespace sluice::redis {

class AsioEventAdapter : public std::enable_shared_from_this<AsioEventAdapter> {
 public:
  // Installs the hooks on `context`, whose socket must exist. `on_cleanup`
  // runs (inside hiredis) when hiredis lets go of the context. False (and
  // nothing installed) when the socket cannot join the io_context.
  static bool Attach(boost::asio::io_context& io, redisAsyncContext* context,
                     std::function<void()> on_cleanup);

  ~AsioEventAdapter();

 private:
  enum class Direction { kRead, kWrite };

  AsioEventAdapter(boost::asio::io_context& io, redisAsyncContext* context,
                   std::function<void()> on_cleanup);

  static void AddRead(void* data);
  static void DelRead(void* data);
  static void AddWrite(void* data);
  static void DelWrite(void* data);
  static void Cleanup(void* data);

  // Starts a wait in `direction` unless one is pending or none is wanted.
  void Arm(Direction direction);
  void OnReady(Direction direction, const boost::system::error_code& error);

  redisAsyncContext* context_;
  boost::asio::posix::stream_descriptor socket_;
  std::function<void()> on_cleanup_;
  bool want_read_ = false;
  bool want_write_ = false;
  bool read_armed_ = false;
  bool write_armed_ = false;
  bool closed_ = false;
  std::shared_ptr<AsioEventAdapter> self_;  // set while attached
};

}  // namespace sluice::redis
