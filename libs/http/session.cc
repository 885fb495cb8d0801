// Per-connection state machine of the HTTP server; see session.h.
#include "libs/http/session.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/http/request_head.h"
#include "libs/http/writer_impl.h"

namespace sluice::http::internal {

namespace http = beast::http;

namespace {
// How long a closing connection keeps reading (and discarding) what the
// client still sends, so that it gets our error response instead of a reset.
constexpr std::chrono::seconds kLingerTime(2);
// The first read of a request: how many bytes to ask for.
constexpr size_t kFirstReadSize = 4096;
// While a request is answered, the client's pipelined bytes are read ahead
// (so that its leaving is still seen) up to this much; past it the watch
// ends and they wait in the socket.
constexpr size_t kMaxPipelinedBytes = 64 * 1024;
// A read of a body asks for at most this much (as Beast's own reads do).
constexpr size_t kMaxBodyReadSize = 64 * 1024;

}  // namespace

Session::Session(asio::ip::tcp::socket socket, const ServerOptions& options,
                 const Handler& handler, std::shared_ptr<void> alive,
                 std::shared_ptr<void> connection, bool over_cap,
                 asio::ssl::context* tls)
    : stream_(std::move(socket), tls),
      options_(options),
      handler_(handler),
      largest_body_limit_(LargestBodyLimit(options)),
      read_timer_(stream_.get_executor()),
      alive_(std::move(alive)),
      connection_(std::move(connection)),
      over_cap_(over_cap) {}

void Session::Start() {
  beast::error_code ignored;
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  auto remote = stream_.socket().remote_endpoint(ignored);
  if (!ignored) remote_address_ = remote.address().to_string();
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (self->stream_.tls() != nullptr) return self->Handshake();
    self->DoRead();
  });
}

void Session::Handshake() {
  ArmReadTimer(options_.request_read_timeout, /*idle=*/true);
  stream_.tls()->async_handshake(
      asio::ssl::stream_base::server,
      [self = shared_from_this()](beast::error_code ec) {
        if (self->closed_) return;
        self->StopReadTimer();
        // Not TLS, or a certificate the client refused: nothing to answer.
        if (ec) return self->Fail();
        self->DoRead();
      });
}

void Session::Close() {
  asio::post(stream_.get_executor(),
             [self = shared_from_this()] { self->Fail(); });
}

void Session::CloseWhenIdle() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    self->keep_alive_ = false;
    // Not answering: waiting for (or reading) a request that will not be
    // served.
    if (self->writer_ == nullptr && !self->closed_) self->Fail();
  });
}

bool Session::Current(const WriterImpl* from) const {
  return !closed_ && writer_ != nullptr && writer_.get() == from;
}

void Session::DoRead() {
  if (closed_) return;
  if (tls_read_ahead_) {
    // The watch's TLS read is still out: the request read starts when it
    // ends. Meanwhile the connection is idle like any other.
    read_after_read_ahead_ = true;
    ArmReadTimer(options_.idle_timeout, /*idle=*/true);
    return;
  }
  parser_.emplace();
  parser_->body_limit(largest_body_limit_);
  parser_->header_limit(options_.max_header_bytes);
  stream_.tcp().expires_never();  // reads are timed by read_timer_
  read_timed_out_ = false;
  // A pipelined request may have arrived with the previous one.
  if (buffer_.size() > 0) return ReadRequest();
  ArmReadTimer(options_.idle_timeout, /*idle=*/true);
  stream_.async_read_some(
      buffer_.prepare(kFirstReadSize),
      [self = shared_from_this()](beast::error_code ec, size_t bytes) {
        self->OnFirstBytes(ec, bytes);
      });
}

void Session::OnFirstBytes(beast::error_code ec, size_t bytes) {
  if (closed_) return;
  if (ec) return Fail();  // client gone
  buffer_.commit(bytes);
  ReadRequest();
}

void Session::ReadRequest() {
  // One deadline for the head and the body together.
  ArmReadTimer(options_.request_read_timeout, /*idle=*/false);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) {
        self->OnHeader(ec);
      });
}

void Session::OnHeader(beast::error_code ec) {
  if (closed_) return;
  // The timer may have fired after the head came in: its cancel() then
  // stopped nothing, and the body read must not go on without a deadline.
  if (ec || read_timed_out_) {
    StopReadTimer();
    return OnReadError(ec ? ec : asio::error::operation_aborted);
  }
  if (!BodyFramingIsUnambiguous(parser_->get())) {
    StopReadTimer();
    return Reject(400, "invalid_request",
                  "Ambiguous request body length (Content-Length and "
                  "Transfer-Encoding)");
  }
  if (over_cap_) {
    StopReadTimer();
    return Reject(503, "too_many_connections",
                  "The server holds as many connections as it may; retry "
                  "shortly");
  }
  beast::string_view target = parser_->get().target();
  uint64_t limit =
      BodyLimitFor(options_, absl::string_view(target.data(), target.size()));
  // Beast compares Content-Length with body_limit only as the head ends
  // (against the largest limit), so a smaller path limit is checked here.
  auto length = parser_->content_length();  // boost::optional
  if (length && *length > limit) {
    StopReadTimer();
    return OnReadError(http::error::body_limit);
  }
  if (limit > options_.max_body_bytes &&
      (!length || *length > options_.max_body_bytes)) {
    if (options_.may_send_large_body &&
        !options_.may_send_large_body(LowerCasedFields(parser_->get()))) {
      StopReadTimer();
      return Reject(401, "invalid_api_key",
                    "A valid API key is required to send a body this large");
    }
    // A large body gets time in proportion (a chunked one, for its limit).
    uint64_t bytes = length ? *length : limit;
    ArmReadTimer(options_.request_read_timeout +
                     options_.large_body_time_per_mib *
                         static_cast<double>(bytes / (1024 * 1024) + 1),
                 /*idle=*/false);
  }
  // No chunk has been parsed yet, so a chunked body is bounded by `limit`
  // as a whole (Beast subtracts each chunk from it).
  parser_->body_limit(limit);
  parser_->eager(true);
  ReadBody();
}

void Session::ReadBody() {
  // The head's read may have taken some of the body, or all of it and the
  // next request.
  while (!parser_->is_done() && buffer_.size() > 0) {
    beast::error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) break;
    if (ec) return OnRead(ec);
    if (used == 0) break;
  }
  if (parser_->is_done()) return OnRead({});
  if (parser_->chunked()) {
    auto unparsed = buffer_.data();
    switch (CheckChunkFraming(
        absl::string_view(static_cast<const char*>(unparsed.data()),
                          unparsed.size()),
        options_.max_header_bytes)) {
      case ChunkFraming::kWithinLimits:
        break;
      case ChunkFraming::kLineTooLong:
        StopReadTimer();
        return Reject(400, "invalid_request", "Chunk size line too long");
      case ChunkFraming::kTrailersTooLarge:
        StopReadTimer();
        return Reject(431, "request_header_fields_too_large",
                      "Request header fields too large");
    }
  }
  stream_.async_read_some(
      buffer_.prepare(beast::read_size(buffer_, kMaxBodyReadSize)),
      [self = shared_from_this()](beast::error_code ec, size_t bytes) {
        if (self->closed_) return;
        self->buffer_.commit(bytes);
        // An end of stream before the body's end: the client is gone.
        if (ec) return self->OnRead(ec);
        self->ReadBody();
      });
}

void Session::ArmReadTimer(absl::Duration limit, bool idle) {
  StopReadTimer();
  if (limit == absl::InfiniteDuration()) return;
  read_timer_.expires_after(absl::ToChronoNanoseconds(limit));
  read_timer_.async_wait([self = shared_from_this(),
                          generation = read_timer_generation_,
                          idle](beast::error_code ec) {
    if (ec || self->closed_ || generation != self->read_timer_generation_) {
      return;
    }
    if (idle) return self->Fail();
    self->read_timed_out_ = true;
    self->stream_.tcp().cancel();  // OnHeader or OnRead answers 408
  });
}

void Session::StopReadTimer() {
  ++read_timer_generation_;
  read_timer_.cancel();
}

void Session::ArmWriteTimeout() {
  if (options_.idle_timeout == absl::InfiniteDuration()) {
    stream_.tcp().expires_never();
  } else {
    stream_.tcp().expires_after(absl::ToChronoNanoseconds(options_.idle_timeout));
  }
}

void Session::OnRead(beast::error_code ec) {
  if (closed_) return;
  StopReadTimer();
  if (ec) return OnReadError(ec);
  http::request<http::string_body> message = parser_->release();
  keep_alive_ = message.keep_alive();
  Request request = RequestFromMessage(std::move(message));
  request.remote_address = remote_address_;
  writer_ = std::make_shared<WriterImpl>(weak_from_this());
  answering_hold_ = shared_from_this();
  WatchForClientGone();
  try {
    handler_(std::move(request), writer_);
  } catch (const std::exception&) {
    RespondWithError(500, "internal_error", "Internal server error");
  }
}

void Session::OnReadError(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    return Reject(413, "request_too_large", "Request body too large");
  }
  if (ec == http::error::header_limit) {
    return Reject(431, "request_header_fields_too_large",
                  "Request header fields too large");
  }
  if (read_timed_out_) {
    return Reject(408, "request_timeout", "Request not received in time");
  }
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == beast::error::timeout || ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset ||
      ec == http::error::partial_message) {
    return Fail();
  }
  Reject(400, "invalid_request", "Malformed HTTP request");
}

// While a request is being answered, a readable socket with nothing to read
// means the client closed it.
void Session::WatchForClientGone() {
  std::weak_ptr<WriterImpl> writer = writer_;
  stream_.socket().async_wait(
      asio::ip::tcp::socket::wait_read,
      [self = shared_from_this(), writer](beast::error_code ec) {
        if (ec || self->closed_) return;
        auto current = writer.lock();
        if (current == nullptr || current != self->writer_) return;
        char byte;
        ssize_t n = ::recv(self->stream_.socket().native_handle(), &byte, 1,
                           MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
          return self->Fail();
        }
        // A readiness with nothing to read (the reactor's, for bytes the
        // request read already took): keep watching.
        if (n < 0) return self->WatchForClientGone();
        if (self->stream_.tls() != nullptr) return self->ReadAheadThroughTls();
        // The client pipelined its next request: its bytes go where the
        // next read starts (all on this strand), and the watch goes on, so
        // a client that leaves after pipelining is still seen.
        if (self->buffer_.size() >= kMaxPipelinedBytes) return;
        auto space = self->buffer_.prepare(kFirstReadSize);
        ssize_t got = ::recv(self->stream_.socket().native_handle(),
                             space.data(), space.size(), MSG_DONTWAIT);
        if (got == 0) return self->Fail();
        if (got > 0) self->buffer_.commit(static_cast<size_t>(got));
        self->WatchForClientGone();
      });
}

void Session::ReadAheadThroughTls() {
  if (buffer_.size() >= kMaxPipelinedBytes) return;
  tls_read_ahead_ = true;
  stream_.tls()->async_read_some(
      buffer_.prepare(kFirstReadSize),
      [self = shared_from_this(), writer = std::weak_ptr<WriterImpl>(writer_)](
          beast::error_code ec, size_t bytes) {
        self->tls_read_ahead_ = false;
        if (self->closed_) return;
        // A close_notify, a reset or a FIN: the client is gone.
        if (ec) return self->Fail();
        self->buffer_.commit(bytes);
        if (std::exchange(self->read_after_read_ahead_, false)) {
          return self->DoRead();
        }
        auto current = writer.lock();
        if (current != nullptr && current == self->writer_) {
          self->WatchForClientGone();
        }
      });
}

void Session::Respond(const WriterImpl* from, int status, Headers headers,
                      std::string body) {
  if (!Current(from) || answering_) return;
  answering_ = true;
  auto response = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(status), 11);
  response->set(http::field::server, "sluice");
  for (auto& [name, value] : headers) response->set(name, value);
  response->body() = std::move(body);
  response->keep_alive(keep_alive_);
  response->prepare_payload();
  ArmWriteTimeout();
  http::async_write(
      stream_, *response,
      [self = shared_from_this(), response](beast::error_code ec, size_t) {
        if (ec) return self->Fail();
        self->ResponseDone();
      });
}

void Session::StartStream(const WriterImpl* from, int status, Headers headers) {
  if (!Current(from) || answering_) return;
  answering_ = true;
  head_ = std::make_shared<http::response<http::empty_body>>(
      static_cast<http::status>(status), 11);
  head_->set(http::field::server, "sluice");
  for (auto& [name, value] : headers) head_->set(name, value);
  head_->keep_alive(keep_alive_);
  head_->chunked(true);
  head_serializer_ =
      std::make_shared<http::response_serializer<http::empty_body>>(*head_);
  writing_ = true;
  ArmWriteTimeout();
  http::async_write_header(
      stream_, *head_serializer_,
      [self = shared_from_this()](beast::error_code ec, size_t) {
        self->head_written_ = true;
        self->OnWritten(ec);
      });
}

void Session::WriteChunk(WriterImpl* from, std::shared_ptr<std::string> data) {
  // An empty chunk would end the body, so it is skipped.
  if (!Current(from) || head_ == nullptr || end_requested_ || data->empty()) {
    from->Written(static_cast<int64_t>(data->size()));
    return;
  }
  chunk_bytes_ += static_cast<int64_t>(data->size());
  chunks_.push_back(std::move(data));
  Pump();
}

void Session::DropChunks() {
  if (writer_ != nullptr && chunk_bytes_ > 0) writer_->Written(chunk_bytes_);
  chunk_bytes_ = 0;
  chunks_.clear();
}

void Session::EndStream(const WriterImpl* from) {
  if (!Current(from) || head_ == nullptr || end_requested_) return;
  end_requested_ = true;
  Pump();
}

void Session::Abort(const WriterImpl* from) {
  if (Current(from)) Fail();
}

void Session::Pump() {
  if (writing_ || !head_written_ || closed_) return;
  ArmWriteTimeout();
  if (!chunks_.empty()) {
    writing_ = true;
    std::shared_ptr<std::string> data = chunks_.front();
    chunks_.pop_front();
    // What queued behind the last write goes out as one chunk: one write
    // (and one syscall) instead of one per event when the client or the
    // machine is slower than the handler. The bytes of the body are the
    // same; only their chunk framing differs.
    if (!chunks_.empty()) {
      auto merged = std::make_shared<std::string>(*data);
      for (const std::shared_ptr<std::string>& next : chunks_) {
        merged->append(*next);
      }
      chunks_.clear();
      data = std::move(merged);
    }
    asio::async_write(
        stream_, http::make_chunk(asio::buffer(*data)),
        [self = shared_from_this(), data,
         writer = writer_](beast::error_code ec, size_t) {
          // Written or not, these bytes have left the queue.
          self->chunk_bytes_ -= static_cast<int64_t>(data->size());
          writer->Written(static_cast<int64_t>(data->size()));
          self->OnWritten(ec);
        });
  } else if (end_requested_ && !end_written_) {
    writing_ = true;
    end_written_ = true;
    asio::async_write(
        stream_, http::make_chunk_last(),
        [self = shared_from_this()](beast::error_code ec, size_t) {
          self->writing_ = false;
          if (ec) return self->Fail();
          self->ResponseDone();
        });
  } else {
    stream_.tcp().expires_never();  // waiting for the handler to write more
  }
}

void Session::OnWritten(beast::error_code ec) {
  writing_ = false;
  if (ec) return Fail();
  Pump();
}

void Session::ResponseDone() {
  head_.reset();
  head_serializer_.reset();
  head_written_ = false;
  writing_ = false;
  end_requested_ = false;
  end_written_ = false;
  answering_ = false;
  DropChunks();
  writer_.reset();
  // The caller's handler holds the session until it returns.
  answering_hold_.reset();
  if (!keep_alive_ || closing_) return LingeringClose();
  DoRead();
}

// Half-closes, then reads and drops whatever the client still sends (say, the
// rest of an oversized body) until it closes too or kLingerTime passes.
void Session::LingeringClose() {
  closed_ = true;  // no more requests or writes
  StopReadTimer();
  discard_ = std::make_shared<std::array<char, 4096>>();
  stream_.tcp().expires_after(kLingerTime);
  if (tls_read_ahead_) {
    // The client sent more than its request; a TLS read of it is out,
    // which no drain may race: close at once.
    beast::error_code ignored;
    stream_.socket().close(ignored);
    return;
  }
  if (stream_.tls() == nullptr) return HalfClose();
  // TLS says it is closing (close_notify) before TCP does. Asio's shutdown
  // then waits for the client's close_notify, which a client still sending
  // does not send: it ends with an error, and the rest is drained as bytes.
  stream_.tls()->async_shutdown(
      [self = shared_from_this()](beast::error_code) { self->HalfClose(); });
}

void Session::HalfClose() {
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  Drain();
}

void Session::Drain() {
  // Raw bytes: after the answer nothing more is read as TLS.
  stream_.tcp().async_read_some(
      asio::buffer(*discard_),
      [self = shared_from_this()](beast::error_code ec, size_t) {
        if (!ec) return self->Drain();
        beast::error_code ignored;
        self->stream_.socket().close(ignored);
      });
}

void Session::Reject(int status, const char* code, const char* message) {
  keep_alive_ = false;
  if (options_.on_rejected) {
    options_.on_rejected(DescribeRejected(status, code));
  }
  RespondWithError(status, code, message);
}

RejectedRequest Session::DescribeRejected(int status, const char* code) const {
  RejectedRequest rejected;
  rejected.status = status;
  rejected.code = code;
  rejected.remote_address = remote_address_;
  const auto& head = parser_->get();
  bool has_request_line = !head.target().empty();
  if (has_request_line) {
    rejected.method = std::string(head.method_string());
    rejected.target = std::string(head.target());
    rejected.headers = LowerCasedFields(head);
  }
  // An unfinished head goes on in the buffer. A 413 comes only after the
  // whole head (though the parser does not say it is done), and the buffer
  // then holds body bytes.
  if (status != 413 && !parser_->is_header_done()) {
    auto raw = buffer_.data();
    ReadPartialHead(
        absl::string_view(static_cast<const char*>(raw.data()), raw.size()),
        /*request_line=*/!has_request_line, rejected);
  }
  return rejected;
}

void Session::RespondWithError(int status, const char* code,
                               const char* message) {
  if (writer_ == nullptr) {
    writer_ = std::make_shared<WriterImpl>(weak_from_this());
  }
  Headers headers = {{"content-type", "application/json"}};
  if (status == 503) headers.emplace_back("retry-after", "1");
  Respond(writer_.get(), status, std::move(headers),
          absl::StrCat(R"({"error":{"message":")", message, R"(","type":")",
                       status >= 500 ? "server_error" : "invalid_request_error",
                       R"(","param":null,"code":")", code, "\"}}"));
}

void Session::Fail() {
  closed_ = true;
  StopReadTimer();
  DropChunks();
  std::shared_ptr<WriterImpl> writer = std::move(writer_);
  writer_.reset();
  // Callers hold the session (a handler's `self`) while this runs.
  std::shared_ptr<Session> hold = std::move(answering_hold_);
  beast::error_code ignored;
  stream_.socket().close(ignored);
  if (writer != nullptr) writer->MarkClientGone();
}

}  // namespace sluice::http::internal
