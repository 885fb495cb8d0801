#include "libs/io/io_threads.h"

#include <algorithm>

#include "libs/process/thread_name.h"

namespace sluice::io {

IoThreads::IoThreads(int threads)
    : io_(std::max(threads, 1)), work_(boost::asio::make_work_guard(io_)) {
  for (int i = 0; i < std::max(threads, 1); ++i) {
    threads_.emplace_back([this] {
      process::NameThisThread("sluice-io");
      io_.run();
    });
  }
}

IoThreads::~IoThreads() { Stop(); }

void IoThreads::Stop() {
  if (threads_.empty()) return;
  work_.reset();
  // Whatever still waits (timers, sockets nobody closed) must not hold the
  // threads forever.
  io_.stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace sluice::io
