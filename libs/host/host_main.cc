#include "libs/host/host_main.h"

#include <cstdio>

#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "libs/host/host_options.h"
#include "libs/obs/logging.h"
#include "libs/process/termination_signals.h"
#include "spdlog/spdlog.h"

namespace sluice::host {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "sluice serve: %s\n",
               std::string(status.message()).c_str());
  return 1;
}

std::string HostOf(const std::string& listen) {
  std::string address = listen.empty() ? "127.0.0.1:0" : listen;
  return address.substr(0, address.rfind(':'));
}

}  // namespace

void PrepareMain() {
  process::BlockTerminationSignals();
  // Debian's Abseil is built without NDEBUG, so every Mutex lock records its
  // lock-order graph for deadlock detection (a debugging aid that showed up
  // as a few percent of CPU under load). sluice does not rely on it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

int RunHostMain(const HostDefinition& definition,
                const std::vector<std::string>& args) {
  absl::StatusOr<sluice::v1::Config> parsed = ParseServeOptions(args);
  if (!parsed.ok()) return Fail(parsed.status());
  const sluice::v1::Config config = *std::move(parsed);
  obs::InitLogging(config.logging().level().empty() ? "info"
                                                     : config.logging().level());
  absl::StatusOr<std::unique_ptr<Host>> started = Host::Start(config, definition);
  if (!started.ok()) return Fail(started.status());
  Host& host = **started;
  std::printf("sluice: services %s\n", absl::StrJoin(host.hosted(), ",").c_str());
  if (host.public_port() != 0) {
    std::printf("sluice: public gRPC listening on %s:%d\n",
                HostOf(config.server().grpc_listen()).c_str(),
                host.public_port());
  }
  if (host.internal_port() != 0) {
    std::printf("sluice: internal gRPC listening on %s:%d\n",
                HostOf(config.server().internal_listen()).c_str(),
                host.internal_port());
  }
  for (const std::string& line : host.announcements()) {
    std::printf("sluice: %s\n", line.c_str());
  }
  std::printf("sluice: ready\n");
  std::fflush(stdout);

  process::WaitForTerminationSignal();
  spdlog::info("sluice: shutting down");
  host.Shutdown();
  std::printf("sluice: stopped\n");
  std::fflush(stdout);
  return 0;
}

int RunServiceMain(const HostDefinition& definition, int argc, char** argv) {
  PrepareMain();
  return RunHostMain(definition, std::vector<std::string>(argv + 1, argv + argc));
}

}  // namespace sluice::host
