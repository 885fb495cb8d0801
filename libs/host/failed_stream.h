// A server stream that ends at once with an error, for calls rejected before
// any upstream work starts.
#pragma once

#include <grpcpp/grpcpp.h>

namespace sluice::host {

template <typename Chunk>
class FailedStream : public grpc::ServerWriteReactor<Chunk> {
 public:
  explicit FailedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace sluice::host
