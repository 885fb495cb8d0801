// The gRPC glue between processes keeps flow control end to end: a client
// sink that says "full" stops the reading, gRPC's own window then stops the
// server's writes, and the server-side sink pauses its producer; resuming
// delivers everything, in order. Context metadata and cancellation cross
// too.
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "libs/host/grpc_client_call.h"
#include "libs/host/grpc_server_call.h"
#include "sluice/v1/worker.grpc.pb.h"
#include "tests/support/grpc_callback_queue.h"

namespace sluice::host {
namespace {

using sluice::v1::ChatChunk;

constexpr int kChunks = 600;
constexpr size_t kChunkBytes = 16 * 1024;  // ~10 MB in all

// Produces kChunks as fast as its sink allows, on its own thread.
class Producer final : public Flow {
 public:
  void Run(Sink<ChatChunk>* sink, CallContextPtr context) {
    context_ = std::move(context);
    // A paused producer wakes to see the cancellation.
    context_->OnCancel([this] { absl::MutexLock lock(&mu_); });
    thread_ = std::thread([this, sink] {
      for (int i = 0; i < kChunks; ++i) {
        int resumes;
        {
          absl::MutexLock lock(&mu_);
          auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return !paused_ || context_->cancelled();
          };
          mu_.Await(absl::Condition(&ready));
          if (context_->cancelled()) break;
          ++produced_;
          resumes = resumes_;
        }
        ChatChunk chunk;
        chunk.set_id(absl::StrCat(i));
        chunk.set_model(std::string(kChunkBytes, 'x'));
        if (!sink->Next(std::move(chunk))) {
          absl::MutexLock lock(&mu_);
          // The sink may drain and Resume() before we get here (sink.h:
          // at any time): then there is room already.
          if (resumes_ == resumes) paused_ = true;
        }
      }
      sink->Done(context_->cancelled() ? absl::CancelledError("cancelled")
                                       : absl::OkStatus());
    });
  }
  ~Producer() override { Join(); }

  // Waits for the thread to end. Before the test lets go of the producer:
  // the thread's last act, sink->Done, can drop the stream's reference to
  // it, and the last reference dropped there would join the thread from
  // itself.
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  // Flow
  void Resume() override {
    absl::MutexLock lock(&mu_);
    paused_ = false;
    ++resumes_;
  }

  int produced() {
    absl::MutexLock lock(&mu_);
    return produced_;
  }
  std::string request_id() const { return context_->request_id(); }
  std::string tenant() const { return context_->caller().tenant; }

 private:
  CallContextPtr context_;
  std::thread thread_;
  absl::Mutex mu_;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  int resumes_ ABSL_GUARDED_BY(mu_) = 0;
  int produced_ ABSL_GUARDED_BY(mu_) = 0;
};

class StreamingService final : public sluice::v1::Worker::CallbackService {
 public:
  grpc::ServerWriteReactor<ChatChunk>* Generate(
      grpc::CallbackServerContext* context,
      const sluice::v1::ChatRequest*) override {
    return ServeStream<ChatChunk>(context, nullptr,
                                  [this](CallContextPtr ctx, auto* sink) {
                                    sink->Start(producer_);
                                    producer_->Run(sink, std::move(ctx));
                                  });
  }
  std::shared_ptr<Producer> producer_ = std::make_shared<Producer>();
};

// Takes the first chunk, then says "full" until Open().
class SlowReader final : public Sink<ChatChunk> {
 public:
  void Start(FlowPtr flow) override { flow_ = std::move(flow); }
  bool Next(ChatChunk chunk) override {
    absl::MutexLock lock(&mu_);
    ids_.push_back(std::stoi(chunk.id()));
    return open_;
  }
  void Done(absl::Status status) override {
    status_ = std::move(status);
    done_.Notify();
  }
  void Open() {
    {
      absl::MutexLock lock(&mu_);
      open_ = true;
    }
    flow_->Resume();
  }
  size_t received() {
    absl::MutexLock lock(&mu_);
    return ids_.size();
  }

  FlowPtr flow_;
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int> ids_ ABSL_GUARDED_BY(mu_);
  absl::Status status_;
  absl::Notification done_;
};

class GrpcGlueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sluice::testing::HoldGrpcCallbackQueue();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    // BDP probing grows the client's window with the measured bandwidth
    // (to megabytes on a busy machine); a fixed window makes "how far the
    // producer gets" depend on the glue alone.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    stub_ = sluice::v1::Worker::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials(),
        args));
  }
  void TearDown() override {
    server_->Shutdown();  // cancels the call: a paused producer ends too
    service_.producer_->Join();
  }

  void Read(CallContextPtr context, SlowReader* reader) {
    sluice::v1::Worker::Stub* stub = stub_.get();
    auto request = std::make_shared<sluice::v1::ChatRequest>();
    ClientStreamCall<ChatChunk>::Run(
        [stub, request](grpc::ClientContext* c,
                        grpc::ClientReadReactor<ChatChunk>* r) {
          stub->async()->Generate(c, request.get(), r);
        },
        context, nullptr, reader, request);
  }

  StreamingService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<sluice::v1::Worker::Stub> stub_;
};

TEST_F(GrpcGlueTest, AFullClientWindowPausesTheRemoteProducer) {
  SlowReader reader;
  Read(CallContext::Create({absl::Now() + absl::Seconds(60), "req_flow", "",
                            {"acme", ""}}),
       &reader);
  // The producer runs until the windows on the way fill, then waits.
  int before = -1;
  for (int i = 0; i < 100; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    int now = service_.producer_->produced();
    if (now == before && now > 0) break;
    before = now;
  }
  int stalled_at = service_.producer_->produced();
  EXPECT_LT(stalled_at, kChunks / 10)
      << "a paused reader must hold the producer back";
  EXPECT_EQ(reader.received(), 1u);  // nothing read past the full window
  EXPECT_EQ(service_.producer_->request_id(), "req_flow");
  EXPECT_EQ(service_.producer_->tenant(), "acme");

  reader.Open();
  ASSERT_TRUE(reader.done_.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_TRUE(reader.status_.ok()) << reader.status_;
  absl::MutexLock lock(&reader.mu_);
  ASSERT_EQ(reader.ids_.size(), static_cast<size_t>(kChunks));
  for (int i = 0; i < kChunks; ++i) EXPECT_EQ(reader.ids_[i], i);
}

TEST_F(GrpcGlueTest, CancellingTheCallerCancelsTheRemoteProducer) {
  SlowReader reader;
  CallContextPtr context =
      CallContext::Create({absl::Now() + absl::Seconds(60), "req_cancel"});
  Read(context, &reader);
  while (service_.producer_->produced() == 0) absl::SleepFor(absl::Milliseconds(5));
  context->Cancel();
  ASSERT_TRUE(reader.done_.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(reader.status_.code(), absl::StatusCode::kCancelled);
  EXPECT_LT(service_.producer_->produced(), kChunks);
}

// Sends chunk 1, then, once its context is cancelled, chunk 2 and its end:
// what a router does for a caller that left (the usage of what was sent).
class WindingService final : public sluice::v1::Worker::CallbackService {
 public:
  grpc::ServerWriteReactor<ChatChunk>* Generate(
      grpc::CallbackServerContext* context,
      const sluice::v1::ChatRequest*) override {
    return ServeStream<ChatChunk>(
        context, nullptr,
        [](CallContextPtr ctx, Sink<ChatChunk>* sink) {
          ChatChunk first;
          first.set_id("1");
          sink->Next(std::move(first));
          ctx->OnCancel([sink] {
            ChatChunk last;
            last.set_id("2");
            sink->Next(std::move(last));
            sink->Done(absl::CancelledError("the caller went away"));
          });
        },
        &streams_);
  }
  StreamCancels streams_;
};

class WindDownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sluice::testing::HoldGrpcCallbackQueue();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = sluice::v1::Worker::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(); }

  // Reads a stream that is wound down through `ask` when `context` is
  // cancelled (once its first chunk is in).
  void Read(CallContextPtr context, SlowReader* reader, WindDown wind_down) {
    sluice::v1::Worker::Stub* stub = stub_.get();
    auto request = std::make_shared<sluice::v1::ChatRequest>();
    ClientStreamCall<ChatChunk>::Run(
        [stub, request](grpc::ClientContext* c,
                        grpc::ClientReadReactor<ChatChunk>* r) {
          stub->async()->Generate(c, request.get(), r);
        },
        context, nullptr, reader, request, std::move(wind_down));
    while (reader->received() == 0) absl::SleepFor(absl::Milliseconds(5));
    context->Cancel();
    ASSERT_TRUE(
        reader->done_.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }

  WindingService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<sluice::v1::Worker::Stub> stub_;
};

TEST_F(WindDownTest,
       ACancelledCallerStillGetsWhatTheServerSendsWhileWindingDown) {
  SlowReader reader;  // says "full" all along: read to the end regardless
  WindDown wind_down;
  wind_down.ask = [this](const std::string& call_id,
                         absl::AnyInvocable<void(bool) &&> done) {
    std::move(done)(service_.streams_.Cancel(call_id));
  };
  Read(CallContext::Create({absl::Now() + absl::Seconds(60), "req_wind"}),
       &reader, std::move(wind_down));
  EXPECT_EQ(reader.status_.code(), absl::StatusCode::kCancelled);
  absl::MutexLock lock(&reader.mu_);
  EXPECT_EQ(reader.ids_, (std::vector<int>{1, 2}));
}

TEST_F(WindDownTest, AServerThatKnowsNoSuchCallHasItCut) {
  SlowReader reader;
  WindDown wind_down;
  wind_down.ask = [](const std::string&,
                     absl::AnyInvocable<void(bool) &&> done) {
    std::move(done)(false);
  };
  absl::Time start = absl::Now();
  Read(CallContext::Create({absl::Now() + absl::Seconds(60), "req_cut"}),
       &reader, std::move(wind_down));
  EXPECT_EQ(reader.status_.code(), absl::StatusCode::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));  // not the grace
  absl::MutexLock lock(&reader.mu_);
  EXPECT_EQ(reader.ids_.size(), 1u);
}

}  // namespace
}  // namespace sluice::host
