#include "libs/host/internal_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/obs/metrics.h"

namespace sluice::host {
namespace {

std::string Digest(absl::string_view bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), out, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), size);
}

obs::Counter& CallCounter(const char* result) {
  return obs::MetricsRegistry::Default().counter(
      "sluice_internal_grpc_calls_total",
      "Calls to this process's internal gRPC services, by result: ok, or "
      "unauthenticated (no or a wrong internal secret).",
      {{"result", result}});
}

absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    absl::string_view what) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server.internal_tls.", what, ": cannot read \"", path, "\""));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

InternalAuth::InternalAuth(absl::string_view secret)
    : secret_(secret), digest_(Digest(secret)), shared_(true) {}

absl::StatusOr<std::unique_ptr<InternalAuth>> InternalAuth::FromConfig(
    const sluice::v1::ServerConfig& server) {
  // Both series exist from the start: a process whose internal listener
  // was never called shows zeros, not nothing.
  CallCounter("ok");
  CallCounter("unauthenticated");
  std::unique_ptr<InternalAuth> auth(new InternalAuth());
  std::string env = server.internal_secret_env().empty()
                        ? std::string(kDefaultSecretEnv)
                        : server.internal_secret_env();
  const char* secret = std::getenv(env.c_str());
  if (secret != nullptr && *secret != '\0') {
    auth->secret_ = secret;
    auth->shared_ = true;
  } else {
    unsigned char random[32];
    if (RAND_bytes(random, sizeof(random)) != 1) {
      return absl::InternalError("no random bytes for the internal secret");
    }
    auth->secret_ = absl::BytesToHexString(absl::string_view(
        reinterpret_cast<const char*>(random), sizeof(random)));
  }
  auth->digest_ = Digest(auth->secret_);
  const sluice::v1::InternalTls& tls = server.internal_tls();
  if (!tls.cert_file().empty() || !tls.key_file().empty() ||
      !tls.ca_file().empty()) {
    absl::StatusOr<std::string> cert = ReadPem(tls.cert_file(), "cert_file");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem(tls.key_file(), "key_file");
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> ca = ReadPem(tls.ca_file(), "ca_file");
    if (!ca.ok()) return ca.status();
    auth->tls_ = true;
    auth->cert_pem_ = *std::move(cert);
    auth->key_pem_ = *std::move(key);
    auth->ca_pem_ = *std::move(ca);
  }
  return auth;
}

bool InternalAuth::Admit(const grpc::CallbackServerContext& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(
      grpc::string_ref(kInternalAuthKey.data(), kInternalAuthKey.size()));
  bool ok = false;
  if (it != metadata.end()) {
    // Digests have one length whatever was sent, so the comparison's time
    // says nothing about the secret.
    std::string sent =
        Digest(absl::string_view(it->second.data(), it->second.size()));
    ok = CRYPTO_memcmp(sent.data(), digest_.data(), digest_.size()) == 0;
  }
  static obs::Counter& admitted = CallCounter("ok");
  static obs::Counter& refused = CallCounter("unauthenticated");
  (ok ? admitted : refused).Increment();
  return ok;
}

void InternalAuth::Sign(grpc::ClientContext& context) const {
  context.AddMetadata(std::string(kInternalAuthKey), secret_);
}

std::shared_ptr<grpc::ServerCredentials> InternalAuth::ServerCredentials()
    const {
  if (!tls_) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = ca_pem_;
  options.pem_key_cert_pairs.push_back({key_pem_, cert_pem_});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> InternalAuth::ChannelCredentials()
    const {
  if (!tls_) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem_;
  options.pem_private_key = key_pem_;
  options.pem_cert_chain = cert_pem_;
  return grpc::SslCredentials(options);
}

}  // namespace sluice::host
