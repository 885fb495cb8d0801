// The byte stream of one server connection: plain TCP, or TLS over it when
// the server has a certificate. Beast's and Asio's composed reads and
// writes take it like any stream; what only TCP has (the socket, the
// timeouts of beast::tcp_stream) stays reachable through tcp(), and TLS's
// handshake and close_notify through tls().
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <utility>

namespace sluice::http::internal {

class SessionStream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;
  using Tls = boost::asio::ssl::stream<boost::beast::tcp_stream&>;

  // `tls` (null: plain TCP) must outlive the stream.
  SessionStream(boost::asio::ip::tcp::socket socket,
                boost::asio::ssl::context* tls)
      : tcp_(std::move(socket)),
        tls_(tls != nullptr ? std::make_unique<Tls>(tcp_, *tls) : nullptr) {}

  executor_type get_executor() { return tcp_.get_executor(); }
  boost::beast::tcp_stream& tcp() { return tcp_; }
  boost::asio::ip::tcp::socket& socket() { return tcp_.socket(); }
  // Null for plain TCP.
  Tls* tls() { return tls_.get(); }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_ != nullptr) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      tcp_.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_ != nullptr) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      tcp_.async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

 private:
  boost::beast::tcp_stream tcp_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace sluice::http::internal
