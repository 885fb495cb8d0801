// Who may call a process's internal services: only another sluice process
// that knows the shared secret (sent in call metadata, compared in constant
// time) and, when internal TLS is configured, presents a certificate the
// configured CA signed. The public gRPC listener (the Gateway) is not
// covered: clients authenticate there with their API keys.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sluice/v1/config.pb.h"

namespace sluice::host {

inline constexpr absl::string_view kInternalAuthKey = "x-sluice-internal-auth";
inline constexpr absl::string_view kDefaultSecretEnv = "SLUICE_INTERNAL_SECRET";

class InternalAuth {
 public:
  // The secret from the environment variable that `server.internal_secret_env`
  // names; without one, a random secret (nothing outside this process can
  // call in). Reads the TLS files when configured; a missing or unreadable
  // file is an error.
  static absl::StatusOr<std::unique_ptr<InternalAuth>> FromConfig(
      const sluice::v1::ServerConfig& server);
  // A known secret, no TLS (tests).
  explicit InternalAuth(absl::string_view secret);

  // Whether the secret came from the environment (other processes can
  // share it) rather than being made up for this process alone.
  bool shared() const { return shared_; }

  // Server side: whether the call carries the secret. Counts the call in
  // sluice_internal_grpc_calls_total{result} either way.
  bool Admit(const grpc::CallbackServerContext& context) const;
  // Client side: adds the secret to an outbound call's metadata.
  void Sign(grpc::ClientContext& context) const;

  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;

 private:
  InternalAuth() = default;

  std::string secret_;
  std::string digest_;  // SHA-256 of the secret, for the comparison
  bool shared_ = false;
  bool tls_ = false;
  std::string cert_pem_, key_pem_, ca_pem_;
};

}  // namespace sluice::host
