// The TLS side of an HTTPS server: its certificate chain and private key,
// loaded once, with what a server should accept in 2026 (TLS 1.2 and 1.3,
// no compression, no renegotiation).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace sluice::http {

// INVALID_ARGUMENT naming the file (never its content) when a file cannot
// be read or parsed, or the key is not the certificate's.
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> ServerTlsContext(
    const std::string& certificate_file, const std::string& private_key_file);

}  // namespace sluice::http
