#include "libs/redis/asio_event_adapter.h"

#include <hiredis/async.h>

#include <utility>

namespace sluice::redis {

bool AsioEventAdapter::Attach(boost::asio::io_context& io,
                              redisAsyncContext* context,
                              std::function<void()> on_cleanup) {
  std::shared_ptr<AsioEventAdapter> adapter(
      new AsioEventAdapter(io, context, std::move(on_cleanup)));
  boost::system::error_code error;
  adapter->socket_.assign(context->c.fd, error);
  if (error) return false;
  adapter->self_ = adapter;
  context->ev.data = adapter.get();
  context->ev.addRead = &AsioEventAdapter::AddRead;
  context->ev.delRead = &AsioEventAdapter::DelRead;
  context->ev.addWrite = &AsioEventAdapter::AddWrite;
  context->ev.delWrite = &AsioEventAdapter::DelWrite;
  context->ev.cleanup = &AsioEventAdapter::Cleanup;
  return true;
}

AsioEventAdapter::AsioEventAdapter(boost::asio::io_context& io,
                                   redisAsyncContext* context,
                                   std::function<void()> on_cleanup)
    : context_(context), socket_(io), on_cleanup_(std::move(on_cleanup)) {}

AsioEventAdapter::~AsioEventAdapter() {
  // Never close hiredis' socket.
  if (socket_.is_open()) socket_.release();
}

void AsioEventAdapter::AddRead(void* data) {
  auto* adapter = static_cast<AsioEventAdapter*>(data);
  adapter->want_read_ = true;
  adapter->Arm(Direction::kRead);
}

void AsioEventAdapter::DelRead(void* data) {
  static_cast<AsioEventAdapter*>(data)->want_read_ = false;
}

void AsioEventAdapter::AddWrite(void* data) {
  auto* adapter = static_cast<AsioEventAdapter*>(data);
  adapter->want_write_ = true;
  adapter->Arm(Direction::kWrite);
}

void AsioEventAdapter::DelWrite(void* data) {
  static_cast<AsioEventAdapter*>(data)->want_write_ = false;
}

void AsioEventAdapter::Cleanup(void* data) {
  auto* adapter = static_cast<AsioEventAdapter*>(data);
  // hiredis may call cleanup twice (disconnect, then free): unhook so that
  // the second call finds nothing.
  adapter->context_->ev = {};
  // Keeps the adapter alive to the end of this call.
  std::shared_ptr<AsioEventAdapter> self = std::move(adapter->self_);
  adapter->closed_ = true;
  adapter->want_read_ = adapter->want_write_ = false;
  // Aborts pending waits and gives the socket back without closing it.
  adapter->socket_.release();
  std::function<void()> on_cleanup = std::move(adapter->on_cleanup_);
  if (on_cleanup) on_cleanup();
}

void AsioEventAdapter::Arm(Direction direction) {
  bool read = direction == Direction::kRead;
  bool& armed = read ? read_armed_ : write_armed_;
  bool wanted = read ? want_read_ : want_write_;
  if (closed_ || armed || !wanted) return;
  armed = true;
  socket_.async_wait(read ? boost::asio::posix::stream_descriptor::wait_read
                          : boost::asio::posix::stream_descriptor::wait_write,
                     [self = shared_from_this(),
                      direction](const boost::system::error_code& error) {
                       self->OnReady(direction, error);
                     });
}

void AsioEventAdapter::OnReady(Direction direction,
                               const boost::system::error_code& error) {
  bool read = direction == Direction::kRead;
  (read ? read_armed_ : write_armed_) = false;
  if (error || closed_ || !(read ? want_read_ : want_write_)) return;
  // Either call may end in cleanup (the context is then gone).
  if (read) {
    redisAsyncHandleRead(context_);
  } else {
    redisAsyncHandleWrite(context_);
  }
  // Waits are one-shot; hiredis expects level-triggered events.
  Arm(direction);
}

}  // namespace sluice::redis
