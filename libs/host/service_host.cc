#include "libs/host/service_host.h"

#include "absl/strings/str_cat.h"

namespace sluice::host {

ServiceHost::ServiceHost(absl::flat_hash_map<std::string, std::string> remotes)
    : remotes_(std::move(remotes)) {}

ServiceHost::~ServiceHost() { Shutdown(); }

void ServiceHost::AddService(std::string name, grpc::Service* service) {
  services_.emplace_back(std::move(name), service);
}

bool ServiceHost::Hosts(absl::string_view name) const {
  for (const auto& [n, s] : services_) {
    if (n == name) return true;
  }
  return false;
}

absl::Status ServiceHost::Start(const std::string& listen_address) {
  // gRPC refuses a server with no services; a process that hosts none (it
  // only calls remote ones) needs no server.
  if (services_.empty()) return absl::OkStatus();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address, grpc::InsecureServerCredentials(),
                           &port_);
  builder.SetMaxReceiveMessageSize(64 << 20);
  for (auto& [name, service] : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("gRPC server could not listen on ", listen_address));
  }
  return absl::OkStatus();
}

void ServiceHost::Shutdown() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
  }
}

std::shared_ptr<grpc::Channel> ServiceHost::ChannelFor(
    absl::string_view service) {
  absl::MutexLock lock(&mu_);
  auto it = channels_.find(service);
  if (it != channels_.end()) return it->second;
  std::shared_ptr<grpc::Channel> channel;
  if (Hosts(service)) {
    if (server_ == nullptr) return nullptr;  // not started yet
    channel = server_->InProcessChannel(grpc::ChannelArguments());
  } else if (auto remote = remotes_.find(service); remote != remotes_.end()) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    channel = grpc::CreateCustomChannel(
        remote->second, grpc::InsecureChannelCredentials(), args);
  } else {
    return nullptr;
  }
  channels_.emplace(std::string(service), channel);
  return channel;
}

}  // namespace sluice::host
