// The process's I/O threads: one io_context that the HTTP server and the
// upstream HTTP client share, so that a request read on a thread is sent
// upstream, answered and written back by that same thread, with no hand-off
// between threads on the way (each hand-off is a wake-up and a context
// switch, the largest cost of a short request).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>
#include <vector>

namespace sluice::io {

class IoThreads {
 public:
  // Starts `threads` threads (at least one) running the io_context.
  explicit IoThreads(int threads);
  // Stop() if not stopped.
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  boost::asio::io_context& context() { return io_; }
  // Stops the io_context and joins the threads; what is still queued is
  // dropped, so every user stops first. Idempotent; never from one of the
  // threads.
  void Stop();

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type>
      work_;
  std::vector<std::thread> threads_;
};

}  // namespace sluice::io
