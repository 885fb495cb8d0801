// Hosts any subset of sluice's gRPC services in one process. A call to a
// co-hosted service goes through the server's in-process channel (same code,
// no sockets); a call to a remote one through the address given in config.
#pragma once

#include "absl/strings/string_view.h"
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace sluice::host {

// How one service reaches another by name ("router", "adapters", ...).
class ChannelProvider {
 public:
  virtual ~ChannelProvider() = default;
  // Null when the service is neither hosted here nor configured as remote.
  virtual std::shared_ptr<grpc::Channel> ChannelFor(absl::string_view service) = 0;
};

class ServiceHost : public ChannelProvider {
 public:
  // `remotes`: service name → "host:port" for services hosted elsewhere.
  explicit ServiceHost(absl::flat_hash_map<std::string, std::string> remotes);
  ~ServiceHost() override;

  // Registers a service under its config name. Before Start() only; the
  // service must outlive the host.
  void AddService(std::string name, grpc::Service* service);
  bool Hosts(absl::string_view name) const;

  // Builds the server and listens on `listen_address` ("127.0.0.1:0" picks a
  // free port). With no services registered there is no server: port() is 0.
  absl::Status Start(const std::string& listen_address);
  int port() const { return port_; }
  void Shutdown();

  // ChannelProvider
  std::shared_ptr<grpc::Channel> ChannelFor(absl::string_view service) override;

 private:
  absl::flat_hash_map<std::string, std::string> remotes_;
  std::vector<std::pair<std::string, grpc::Service*>> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_
      ABSL_GUARDED_BY(mu_);
};

// A stub created on first use, so that services can be constructed before the
// host starts (the in-process channel exists only after Start()).
template <typename Service>
class LazyStub {
 public:
  LazyStub(ChannelProvider* channels, std::string service)
      : channels_(channels), service_(std::move(service)) {}

  // Null when the service cannot be reached (not hosted, no remote).
  typename Service::Stub* get() {
    absl::MutexLock lock(&mu_);
    if (stub_ == nullptr) {
      auto channel = channels_->ChannelFor(service_);
      if (channel != nullptr) stub_ = Service::NewStub(channel);
    }
    return stub_.get();
  }
  const std::string& service() const { return service_; }

 private:
  ChannelProvider* channels_;
  std::string service_;
  absl::Mutex mu_;
  std::unique_ptr<typename Service::Stub> stub_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::host
