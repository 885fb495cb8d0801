// Hosts the upstream simulator in-process on port 0 with a real HttpClient,
// and runs a Provider's calls to completion with deadlines.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/upstream/http_client.h"
#include "services/adapters/provider.h"
#include "sluice/v1/config.pb.h"
#include "tools/upstream-sim/simulator.h"

namespace sluice::adapters::testing {

// Generous: the machine may be loaded.
inline constexpr absl::Duration kWait = absl::Seconds(20);

// Collects a stream: the chunks, then its end.
class ChunkCollector : public ChunkSink {
 public:
  // ChunkSink
  bool Next(sluice::v1::ChatChunk chunk) override;
  void Done(absl::Status status) override;

  // The end status; DEADLINE_EXCEEDED if OnEnd() did not come in time.
  absl::Status WaitEnd(absl::Duration timeout = kWait);
  std::vector<sluice::v1::ChatChunk> chunks() const;
  int ends() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<sluice::v1::ChatChunk> chunks_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  int ends_ ABSL_GUARDED_BY(mu_) = 0;
};

// A context for one call of a test: a deadline well past the test's waits.
host::CallContextPtr TestContext();

// The text of a stream: its content and reasoning deltas joined.
struct StreamText {
  std::string content;
  std::string reasoning;
};
StreamText JoinDeltas(const std::vector<sluice::v1::ChatChunk>& chunks);

class ProviderTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Restarts the simulator with `options` (port 0).
  void StartSimulator(const sim::SimulatorOptions& options);
  // http://127.0.0.1:PORT/v1
  std::string BaseUrl() const;
  sluice::v1::ProviderConfig Config(sluice::v1::ProviderKind kind) const;

  // Queues `count` faults named `fault` ("529", "429", "cut", ...).
  void QueueFault(const std::string& fault, int count = 1);

  absl::StatusOr<sluice::v1::ChatResponse> CompleteNow(
      Provider& provider, const sluice::v1::AdapterRequest& request);

  std::unique_ptr<sim::Simulator> sim_;
  std::unique_ptr<upstream::HttpClient> client_;
};

}  // namespace sluice::adapters::testing
