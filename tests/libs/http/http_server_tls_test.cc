// HTTPS: the server with a certificate the test makes, against a TLS client
// that trusts only that certificate: answers and streams over TLS, keeps
// the connection, reads a pipelined request through TLS, sees a client
// that says close_notify as gone, and refuses to start on bad files.
#include <openssl/ssl.h>
#include <stdlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/http/server.h"
#include "tests/libs/http/test_client.h"
#include "tests/support/self_signed_cert.h"

namespace sluice::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using ::testing::HasSubstr;
using testing::TestClient;
using testing::WriterSlot;

// A fresh directory holding a new certificate and key.
sluice::testing::CertificateFiles MakeCertificate() {
  char dir[] = "/tmp/sluice-tls-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  absl::StatusOr<sluice::testing::CertificateFiles> files =
      sluice::testing::WriteSelfSignedCertificate(dir);
  EXPECT_TRUE(files.ok()) << files.status();
  return files.ok() ? *files : sluice::testing::CertificateFiles{};
}

ServerPtr StartTls(const sluice::testing::CertificateFiles& files,
                   Handler handler) {
  ServerOptions options;
  options.threads = 2;
  options.tls_certificate_file = files.certificate;
  options.tls_private_key_file = files.private_key;
  absl::StatusOr<ServerPtr> server = StartServer(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// A blocking TLS client that verifies the server's certificate against
// `ca_file` and the name "localhost". (A test that hangs here is ended by
// ctest's timeout.)
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& ca_file)
      : context_(ssl::context::tls_client), stream_(io_, context_) {
    context_.load_verify_file(ca_file);
    stream_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback(ssl::host_name_verification("localhost"));
    SSL_set_tlsext_host_name(stream_.native_handle(), "localhost");
    asio::ip::tcp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
    beast::error_code ec;
    stream_.next_layer().connect(server, ec);
    if (!ec) stream_.handshake(ssl::stream_base::client, ec);
    handshake_error_ = ec;
  }

  beast::error_code handshake_error() const { return handshake_error_; }

  void Send(const std::string& bytes) {
    asio::write(stream_, asio::buffer(bytes));
  }
  beast::http::response<beast::http::string_body> Read() {
    beast::http::response<beast::http::string_body> response;
    beast::error_code ec;
    beast::http::read(stream_, buffer_, response, ec);
    EXPECT_FALSE(ec) << ec.message();
    return response;
  }
  // TLS's close_notify, with the TCP connection left open: only a server
  // that reads through TLS can tell the client has gone. (Asio's shutdown
  // then waits for the server's close_notify or its close, on a thread of
  // its own.)
  void SayCloseNotify() {
    closer_ = std::thread([this] {
      beast::error_code ignored;
      stream_.shutdown(ignored);
    });
  }
  ~TlsClient() {
    if (closer_.joinable()) {
      beast::error_code ignored;
      stream_.next_layer().shutdown(asio::ip::tcp::socket::shutdown_both,
                                    ignored);
      closer_.join();
    }
  }

 private:
  asio::io_context io_;
  ssl::context context_;
  ssl::stream<asio::ip::tcp::socket> stream_;
  beast::flat_buffer buffer_;
  beast::error_code handshake_error_;
  std::thread closer_;
};

void Echo(Request request, ResponseWriterPtr writer) {
  writer->Respond(200, {{"content-type", "text/plain"}},
                  absl::StrCat(request.method, " ", request.path, " ",
                               request.body));
}

TEST(HttpServerTlsTest, AnswersOverTlsAndKeepsTheConnection) {
  sluice::testing::CertificateFiles files = MakeCertificate();
  ServerPtr server = StartTls(files, Echo);
  ASSERT_NE(server, nullptr);
  TlsClient client(server->port(), files.certificate);
  ASSERT_FALSE(client.handshake_error()) << client.handshake_error().message();
  client.Send(testing::MakeRequest("POST", "/one", "first body"));
  auto first = client.Read();
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(first.body(), "POST /one first body");
  // The same connection, the same TLS session.
  client.Send(testing::MakeRequest("GET", "/two"));
  auto second = client.Read();
  EXPECT_EQ(second.result_int(), 200);
  EXPECT_EQ(second.body(), "GET /two ");
}

TEST(HttpServerTlsTest, StreamsEventsOverTls) {
  sluice::testing::CertificateFiles files = MakeCertificate();
  WriterSlot slot;
  ServerPtr server = StartTls(files, [&](Request, ResponseWriterPtr writer) {
    slot.Put(std::move(writer));
  });
  ASSERT_NE(server, nullptr);
  TlsClient client(server->port(), files.certificate);
  ASSERT_FALSE(client.handshake_error()) << client.handshake_error().message();
  client.Send(testing::MakeRequest("GET", "/stream"));
  ResponseWriterPtr writer = slot.Take();
  ASSERT_NE(writer, nullptr);
  // Written from another thread than the server's, as the gateway does.
  std::thread producer([writer] {
    writer->StartStream(200, {{"content-type", "text/event-stream"}});
    for (int i = 0; i < 3; ++i) writer->WriteEvent(absl::StrCat("event ", i));
    writer->EndStream();
  });
  auto response = client.Read();
  producer.join();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(),
            "data: event 0\n\ndata: event 1\n\ndata: event 2\n\n");
}

// The next request sent while the first is still being answered arrives as
// TLS records: the server reads it through TLS (not from the socket) and
// answers it after the first.
TEST(HttpServerTlsTest, APipelinedRequestIsReadThroughTls) {
  sluice::testing::CertificateFiles files = MakeCertificate();
  WriterSlot slot;
  ServerPtr server = StartTls(files, [&](Request request,
                                         ResponseWriterPtr writer) {
    if (request.path == "/later") return slot.Put(std::move(writer));
    Echo(std::move(request), std::move(writer));
  });
  ASSERT_NE(server, nullptr);
  TlsClient client(server->port(), files.certificate);
  ASSERT_FALSE(client.handshake_error()) << client.handshake_error().message();
  client.Send(testing::MakeRequest("GET", "/later"));
  ResponseWriterPtr later = slot.Take();
  ASSERT_NE(later, nullptr);
  client.Send(testing::MakeRequest("POST", "/next", "pipelined"));
  // Give the server's watch the time to see and read the pipelined bytes
  // before the first answer goes (a wait for something that must NOT
  // happen: the second request is not answered before the first).
  absl::SleepFor(absl::Milliseconds(200));
  later->Respond(200, {}, "the first");
  auto first = client.Read();
  EXPECT_EQ(first.body(), "the first");
  auto second = client.Read();
  EXPECT_EQ(second.result_int(), 200);
  EXPECT_EQ(second.body(), "POST /next pipelined");
}

TEST(HttpServerTlsTest, AClientThatSaysCloseNotifyIsGone) {
  sluice::testing::CertificateFiles files = MakeCertificate();
  WriterSlot slot;
  absl::Notification gone;
  ServerPtr server = StartTls(files, [&](Request, ResponseWriterPtr writer) {
    writer->SetOnClientGone([&gone] { gone.Notify(); });
    slot.Put(std::move(writer));
  });
  ASSERT_NE(server, nullptr);
  TlsClient client(server->port(), files.certificate);
  ASSERT_FALSE(client.handshake_error()) << client.handshake_error().message();
  client.Send(testing::MakeRequest("GET", "/slow"));
  ResponseWriterPtr writer = slot.Take();
  ASSERT_NE(writer, nullptr);
  client.SayCloseNotify();
  EXPECT_TRUE(gone.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

TEST(HttpServerTlsTest, PlainHttpOnTheTlsPortIsClosedAndTheServerGoesOn) {
  sluice::testing::CertificateFiles files = MakeCertificate();
  ServerPtr server = StartTls(files, Echo);
  ASSERT_NE(server, nullptr);
  TestClient plain(server->port());
  ASSERT_TRUE(plain.Send(testing::MakeRequest("GET", "/plain")));
  EXPECT_TRUE(plain.WaitForClose());
  TlsClient client(server->port(), files.certificate);
  ASSERT_FALSE(client.handshake_error()) << client.handshake_error().message();
  client.Send(testing::MakeRequest("GET", "/after"));
  EXPECT_EQ(client.Read().body(), "GET /after ");
}

TEST(HttpServerTlsTest, AClientThatDoesNotTrustTheCertificateGetsNothing) {
  sluice::testing::CertificateFiles files = MakeCertificate();
  sluice::testing::CertificateFiles other = MakeCertificate();
  std::atomic<int> handled{0};
  ServerPtr server = StartTls(files, [&](Request r, ResponseWriterPtr w) {
    ++handled;
    Echo(std::move(r), std::move(w));
  });
  ASSERT_NE(server, nullptr);
  TlsClient client(server->port(), other.certificate);
  EXPECT_TRUE(client.handshake_error());
  EXPECT_EQ(handled.load(), 0);
}

TEST(HttpServerTlsTest, BadCertificateFilesStopTheStart) {
  sluice::testing::CertificateFiles files = MakeCertificate();
  sluice::testing::CertificateFiles other = MakeCertificate();
  ServerOptions options;
  options.tls_certificate_file = files.certificate + ".missing";
  options.tls_private_key_file = files.private_key;
  absl::StatusOr<ServerPtr> missing = StartServer(options, Echo);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(".missing"));
  options.tls_certificate_file = files.certificate;
  options.tls_private_key_file = other.private_key;
  absl::StatusOr<ServerPtr> mismatched = StartServer(options, Echo);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_THAT(std::string(mismatched.status().message()),
              HasSubstr(other.private_key));
  options.tls_private_key_file.clear();
  EXPECT_FALSE(StartServer(options, Echo).ok());
}

}  // namespace
}  // namespace sluice::http
