// upstream-sim: the upstream simulator as a process. Prints exactly one line,
// "upstream-sim listening on HOST:PORT", then serves until SIGINT/SIGTERM.
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "libs/process/termination_signals.h"
#include "tools/upstream-sim/simulator.h"

namespace {

constexpr char kUsage[] =
    "usage: upstream-sim [--listen HOST:PORT] [--latency-ttft-ms N]\n"
    "                    [--latency-per-token-ms N] [--api-key KEY]\n"
    "                    [--fault NAME] [--threads N]\n"
    "                    [--fill-to-max-tokens true]   answers as long as max_tokens\n"
    "                    [--usage-details false]   usage without token details\n";

bool ParseMs(const std::string& text, absl::Duration& out) {
  int ms = 0;
  if (!absl::SimpleAtoi(text, &ms) || ms < 0) return false;
  out = absl::Milliseconds(ms);
  return true;
}

// Fills `options` from "--flag value" or "--flag=value" arguments.
bool ParseFlags(int argc, char** argv, sluice::sim::SimulatorOptions& options) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i], value;
    size_t equals = flag.find('=');
    if (equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag.resize(equals);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return false;
    }
    bool ok = true;
    if (flag == "--listen") {
      size_t colon = value.rfind(':');
      int port = -1;
      ok = colon != std::string::npos &&
           absl::SimpleAtoi(value.substr(colon + 1), &port) && port >= 0 &&
           port <= 65535;
      options.host = value.substr(0, colon);
      options.port = static_cast<uint16_t>(port);
    } else if (flag == "--latency-ttft-ms") {
      ok = ParseMs(value, options.ttft);
    } else if (flag == "--latency-per-token-ms") {
      ok = ParseMs(value, options.per_token);
    } else if (flag == "--api-key") {
      options.required_api_key = value;
    } else if (flag == "--fault") {
      std::optional<sluice::sim::Fault> fault = sluice::sim::ParseFault(value);
      ok = fault.has_value();
      if (ok) options.fault = *fault;
    } else if (flag == "--fill-to-max-tokens") {
      ok = value == "true" || value == "false";
      options.fill_to_max_tokens = value == "true";
    } else if (flag == "--usage-details") {
      ok = value == "true" || value == "false";
      options.usage_details = value == "true";
    } else if (flag == "--threads") {
      ok = absl::SimpleAtoi(value, &options.threads) && options.threads > 0;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "upstream-sim: bad flag %s %s\n", flag.c_str(),
                   value.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken below, not by the server's threads.
  sluice::process::BlockTerminationSignals();

  sluice::sim::SimulatorOptions options;
  if (!ParseFlags(argc, argv, options)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto sim = sluice::sim::Simulator::Start(options);
  if (!sim.ok()) {
    std::fprintf(stderr, "upstream-sim: %s\n", sim.status().ToString().c_str());
    return 1;
  }
  std::printf("upstream-sim listening on %s:%d\n", options.host.c_str(),
              (*sim)->port());
  std::fflush(stdout);
  sluice::process::WaitForTerminationSignal();
  (*sim)->Shutdown();
  return 0;
}
