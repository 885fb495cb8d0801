// One HTTP/1.1 connection: reads requests one at a time, hands each to the
// handler, and writes its answer (whole or streamed in chunks) before
// reading the next one. Everything runs on the connection's strand.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "libs/http/server.h"

namespace sluice::http::internal {

namespace beast = boost::beast;
namespace asio = boost::asio;

class WriterImpl;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `options` and `handler` belong to the server and outlive the session.
  Session(asio::ip::tcp::socket socket, const ServerOptions& options,
          const Handler& handler);
  void Start();
  // Thread-safe: closes the connection (server shutdown).
  void Close();

  // Called on the strand by WriterImpl; `from` is the calling writer, calls
  // from a writer of an earlier request are ignored.
  void Respond(const WriterImpl* from, int status, Headers headers,
               std::string body);
  void StartStream(const WriterImpl* from, int status, Headers headers);
  void WriteChunk(const WriterImpl* from, std::shared_ptr<std::string> data);
  void EndStream(const WriterImpl* from);
  void Abort(const WriterImpl* from);

  asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void DoRead();
  void OnRead(beast::error_code ec);
  void WatchForClientGone();
  void Pump();
  void OnWritten(beast::error_code ec);
  void ResponseDone();
  void LingeringClose();
  void Drain();
  void RespondWithError(int status, const char* code, const char* message);
  void Fail();
  bool Current(const WriterImpl* from) const;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string remote_address_;
  const ServerOptions& options_;
  const Handler& handler_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::shared_ptr<WriterImpl> writer_;  // of the request being answered
  bool keep_alive_ = false;
  bool closed_ = false;
  bool answering_ = false;  // Respond() or StartStream() accepted
  // Streamed response state.
  std::shared_ptr<beast::http::response<beast::http::empty_body>> head_;
  std::shared_ptr<beast::http::response_serializer<beast::http::empty_body>>
      head_serializer_;
  bool head_written_ = false;
  bool writing_ = false;
  bool end_requested_ = false;
  bool end_written_ = false;
  std::deque<std::shared_ptr<std::string>> chunks_;
  std::shared_ptr<std::array<char, 4096>> discard_;  // lingering close
};

}  // namespace sluice::http::internal
