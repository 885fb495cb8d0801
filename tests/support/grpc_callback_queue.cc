#include "tests/support/grpc_callback_queue.h"

#include <chrono>
#include <future>
#include <memory>
#include <mutex>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

namespace sluice::testing {

void HoldGrpcCallbackQueue() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Never destroyed: its reference on the queue lasts until exit (held
    // by a static, so LeakSanitizer counts it as reachable). No server
    // listens there; the call only needs to be made, not answered.
    static auto* channel = new std::shared_ptr<grpc::Channel>(
        grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()));
    grpc::GenericStub stub(*channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(1));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<void> done;
    stub.UnaryCall(&context, "/sluice.Hold/Queue", grpc::StubOptions(),
                   &request, &response,
                   [&done](grpc::Status) { done.set_value(); });
    done.get_future().wait();
  });
}

}  // namespace sluice::testing
