// A self-signed certificate made on the spot (P-256, SHA-256, valid for a
// day) for localhost and 127.0.0.1, for tests of TLS listeners.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace sluice::testing {

struct CertificateFiles {
  std::string certificate;  // PEM; also the trust anchor clients need
  std::string private_key;  // PEM
};

// Makes a new key and certificate and writes them into `dir` (which must
// exist) as cert.pem and key.pem.
absl::StatusOr<CertificateFiles> WriteSelfSignedCertificate(
    const std::string& dir);

}  // namespace sluice::testing
