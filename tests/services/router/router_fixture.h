// Hosts the worker, the adapters and the router in one process (a real
// Host, as `sluice serve` builds it) in front of two upstream simulators,
// "a" and "b", with a config the test writes; calls go to the Router
// component directly, as a co-hosted caller makes them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "libs/host/host.h"
#include "services/router/router.h"
#include "sluice/v1/config.pb.h"
#include "tools/upstream-sim/simulator.h"

namespace sluice::router::testing {

struct StreamResult {
  std::vector<sluice::v1::ChatChunk> chunks;
  absl::Status status;
  // Content and reasoning deltas joined.
  std::string text;
};

class RouterTest : public ::testing::Test {
 protected:
  // Starts simulators a and b with `a` / `b` options, then the services
  // with `yaml`, in which A_PORT and B_PORT stand for the simulators' ports.
  void StartAll(const std::string& yaml, sim::SimulatorOptions a = {},
                sim::SimulatorOptions b = {});
  void TearDown() override;

  absl::StatusOr<sluice::v1::ChatResponse> Route(
      const sluice::v1::ChatRequest& request);
  StreamResult Stream(const sluice::v1::ChatRequest& request);
  absl::StatusOr<sluice::v1::TokenCountResponse> CountTokens(
      const sluice::v1::TokenCountRequest& request);

  // POST /sim/faults on a simulator; `after` < 0 leaves the simulator's
  // default number of tokens before a stall, cut or malformed event.
  void QueueFaults(sim::Simulator& sim, const std::string& fault, int count,
                   int after = -1);

  static sluice::v1::ChatRequest Ask(const std::string& model,
                                     const std::string& question,
                                     const std::string& tenant = "t1");

  std::unique_ptr<sim::Simulator> sim_a_;
  std::unique_ptr<sim::Simulator> sim_b_;
  sluice::v1::Config config_;
  std::unique_ptr<host::Host> host_;
  Router* router_ = nullptr;
};

}  // namespace sluice::router::testing
