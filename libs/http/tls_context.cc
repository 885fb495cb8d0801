#include "libs/http/tls_context.h"

#include <openssl/ssl.h>

#include "absl/strings/str_cat.h"

namespace sluice::http {

namespace ssl = boost::asio::ssl;

absl::StatusOr<std::unique_ptr<ssl::context>> ServerTlsContext(
    const std::string& certificate_file, const std::string& private_key_file) {
  if (certificate_file.empty() || private_key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate file and a private key file");
  }
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds |
                           ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                           ssl::context::no_compression,
                       ec);
  SSL_CTX_set_options(context->native_handle(), SSL_OP_NO_RENEGOTIATION);
  context->use_certificate_chain_file(certificate_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS certificate file ", certificate_file, ": ", ec.message()));
  }
  context->use_private_key_file(private_key_file, ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS private key file ", private_key_file, ": ", ec.message()));
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS private key file ", private_key_file,
                     " does not belong to the certificate in ",
                     certificate_file));
  }
  return context;
}

}  // namespace sluice::http
