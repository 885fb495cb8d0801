// One HTTP/1.1 connection: reads requests one at a time, hands each to the
// handler, and writes its answer (whole or streamed in chunks) before
// reading the next one. Everything runs on the connection's strand.
//
// Reads are timed by read_timer_ rather than by the stream's own expiry,
// which closes the socket when it fires and so leaves no way to answer 408:
// waiting for the first byte of a request is bounded by idle_timeout (then
// a silent close), reading the rest of it by request_read_timeout (then 408).
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "libs/http/server.h"
#include "libs/http/session_stream.h"

namespace sluice::http::internal {

namespace beast = boost::beast;
namespace asio = boost::asio;

class WriterImpl;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `options` and `handler` belong to the server, which outlives its
  // sessions: it waits for `alive` to go before it goes.
  // `connection` is held for the connection's life (the server counts open
  // connections by it); an `over_cap` session answers its first request
  // 503 and closes.
  // `tls` (null: plain HTTP) is the server's, which outlives the session.
  Session(asio::ip::tcp::socket socket, const ServerOptions& options,
          const Handler& handler, std::shared_ptr<void> alive,
          std::shared_ptr<void> connection = nullptr, bool over_cap = false,
          asio::ssl::context* tls = nullptr);
  void Start();
  // Thread-safe: closes the connection (server shutdown).
  void Close();
  // Thread-safe: an idle connection closes now, one answering a request
  // closes after that answer (the server stops taking requests).
  void CloseWhenIdle();

  // Called on the strand by WriterImpl; `from` is the calling writer, calls
  // from a writer of an earlier request are ignored.
  void Respond(const WriterImpl* from, int status, Headers headers,
               std::string body);
  void StartStream(const WriterImpl* from, int status, Headers headers);
  // Takes a chunk `from` queued; one that cannot be written is counted as
  // written at once (so its queue never stays full).
  void WriteChunk(WriterImpl* from, std::shared_ptr<std::string> data);
  void EndStream(const WriterImpl* from);
  void Abort(const WriterImpl* from);

  asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  // TLS only: the handshake, bounded by request_read_timeout, then DoRead.
  void Handshake();
  void DoRead();
  void OnFirstBytes(beast::error_code ec, size_t bytes);
  // Reads the head under the largest body limit of all paths (Beast checks
  // Content-Length against it as the head ends), then the body under the
  // limit of the request's path.
  void ReadRequest();
  void OnHeader(beast::error_code ec);
  // Parses what is buffered and reads on until the body ends. Our loop
  // rather than http::async_read, so that between two reads the chunk-size
  // line and the trailers Beast is waiting for can be checked against their
  // limits (400, 431): Beast would keep them whatever their size.
  void ReadBody();
  void OnRead(beast::error_code ec);
  // Answers a failed read of the head or body (413, 431, 408, 400) or
  // closes the connection silently (client gone).
  void OnReadError(beast::error_code ec);
  // Arms read_timer_; when `limit` passes, an idle connection is closed and
  // a request being read is cancelled (OnHeader or OnRead answers 408).
  void ArmReadTimer(absl::Duration limit, bool idle);
  void StopReadTimer();
  void ArmWriteTimeout();
  // Answers an error without calling the handler, reports it to
  // options_.on_rejected, and closes the connection after the answer.
  void Reject(int status, const char* code, const char* message);
  RejectedRequest DescribeRejected(int status, const char* code) const;
  void WatchForClientGone();
  // TLS: bytes came while a request is answered (a close_notify, or the
  // next request); they can only be read through TLS, into buffer_.
  void ReadAheadThroughTls();
  void Pump();
  void OnWritten(beast::error_code ec);
  void ResponseDone();
  void LingeringClose();
  void HalfClose();
  void Drain();
  void RespondWithError(int status, const char* code, const char* message);
  void Fail();
  bool Current(const WriterImpl* from) const;
  // Gives the writer back the bytes of chunks that will never be written.
  void DropChunks();

  SessionStream stream_;
  beast::flat_buffer buffer_;
  std::string remote_address_;
  const ServerOptions& options_;
  const Handler& handler_;
  // The largest of max_body_bytes and the per-path limits.
  uint64_t largest_body_limit_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::shared_ptr<WriterImpl> writer_;  // of the request being answered
  // The session itself while a request is being answered: the writer holds
  // it only weakly, and no read or wait need be pending meanwhile (a
  // spurious readiness of the client-gone watch ended the last one, and
  // the session went with its socket: the client got nothing). Dropped
  // when the answer ends or the session fails.
  std::shared_ptr<Session> answering_hold_;
  asio::steady_timer read_timer_;
  uint64_t read_timer_generation_ = 0;  // tells stale timer callbacks apart
  bool read_timed_out_ = false;         // request_read_timeout passed
  bool keep_alive_ = false;
  bool closed_ = false;
  bool closing_ = false;  // CloseWhenIdle(): no next request
  bool answering_ = false;  // Respond() or StartStream() accepted
  // TLS: ReadAheadThroughTls() has a read in flight; the next request's
  // read waits for it (a TLS stream takes one read at a time).
  bool tls_read_ahead_ = false;
  bool read_after_read_ahead_ = false;
  // Streamed response state.
  std::shared_ptr<beast::http::response<beast::http::empty_body>> head_;
  std::shared_ptr<beast::http::response_serializer<beast::http::empty_body>>
      head_serializer_;
  bool head_written_ = false;
  bool writing_ = false;
  bool end_requested_ = false;
  bool end_written_ = false;
  std::deque<std::shared_ptr<std::string>> chunks_;
  // Bytes of chunks_ and of the write in flight, given back to the writer
  // as they go.
  int64_t chunk_bytes_ = 0;
  std::shared_ptr<std::array<char, 4096>> discard_;  // lingering close
  std::shared_ptr<void> alive_;  // the server's count of live sessions
  std::shared_ptr<void> connection_;  // the server's count of connections
  const bool over_cap_;
};

}  // namespace sluice::http::internal
