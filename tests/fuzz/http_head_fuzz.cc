// The bytes of an HTTP/1.1 connection, split into reads anywhere, through
// Beast's request parser and what our server reads from each head: the
// framing checks, body limits by path, the limits on a chunked body's
// size lines and trailers, the Request built from a message (pipelined
// requests one after another) and the partial head of a refused one.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "libs/http/request_head.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using sluice::http::internal::BodyFramingIsUnambiguous;
using sluice::http::internal::BodyLimitFor;
using sluice::http::internal::CheckChunkFraming;
using sluice::http::internal::ChunkFraming;
using sluice::http::internal::LargestBodyLimit;
using sluice::http::internal::ReadPartialHead;
using sluice::http::internal::RequestFromMessage;

const sluice::http::ServerOptions& Options() {
  static const sluice::http::ServerOptions* options = [] {
    auto* o = new sluice::http::ServerOptions;
    o->max_header_bytes = 8 * 1024;
    o->max_body_bytes = 64 * 1024;
    o->body_limits_by_path_prefix = {{"/v1/files", 1024 * 1024},
                                     {"/v1/files/small", 16}};
    return o;
  }();
  return *options;
}

class Connection {
 public:
  Connection() { NextRequest(); }

  // False once the connection would be closed.
  bool Read(absl::string_view bytes) {
    // What the parser took is dropped once it is most of the buffer (as a
    // flat_buffer does), not after every put: many small requests or chunks
    // in one read cost linear time, not quadratic.
    if (consumed_ > pending_.size() / 2) {
      pending_.erase(0, consumed_);
      consumed_ = 0;
    }
    pending_.append(bytes.data(), bytes.size());
    while (consumed_ < pending_.size()) {
      beast::error_code ec;
      size_t used = parser_->put(
          boost::asio::buffer(Unparsed().data(), Unparsed().size()), ec);
      consumed_ += used;
      if (ec == http::error::need_more) return ChunkFramingWithinLimits();
      if (ec) return Refused();
      if (parser_->is_header_done() && !head_checked_ && !CheckHead()) {
        return Refused();
      }
      if (parser_->is_done()) {
        Finished();
      } else if (used == 0) {
        return true;
      }
    }
    return true;
  }

 private:
  absl::string_view Unparsed() const {
    return absl::string_view(pending_).substr(consumed_);
  }

  // The server's check between two reads of a chunked body.
  bool ChunkFramingWithinLimits() {
    if (!head_checked_ || !parser_->chunked()) return true;
    if (CheckChunkFraming(Unparsed(), Options().max_header_bytes) ==
        ChunkFraming::kWithinLimits) {
      return true;
    }
    return Refused();
  }

  void NextRequest() {
    parser_.emplace();
    parser_->header_limit(Options().max_header_bytes);
    parser_->body_limit(LargestBodyLimit(Options()));
    head_checked_ = false;
  }

  bool CheckHead() {
    head_checked_ = true;
    if (!BodyFramingIsUnambiguous(parser_->get())) return false;
    beast::string_view target = parser_->get().target();
    uint64_t limit =
        BodyLimitFor(Options(), absl::string_view(target.data(), target.size()));
    if (limit > LargestBodyLimit(Options())) {
      sluice::fuzz::Fail("a path's limit above the largest");
    }
    auto length = parser_->content_length();
    if (length && *length > limit) return false;
    parser_->body_limit(limit);
    return true;
  }

  void Finished() {
    sluice::http::Request request = RequestFromMessage(parser_->release());
    std::string rebuilt = request.path;
    if (request.target.find('?') != std::string::npos) {
      rebuilt += "?" + request.query;
    }
    if (rebuilt != request.target) sluice::fuzz::Fail("path and query lose bytes");
    NextRequest();
  }

  bool Refused() {
    sluice::http::RejectedRequest rejected;
    ReadPartialHead(Unparsed(), /*request_line=*/true, rejected);
    return false;
  }

  std::optional<http::request_parser<http::string_body>> parser_;
  std::string pending_;
  size_t consumed_ = 0;  // the front of pending_ the parser took
  bool head_checked_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Connection connection;
  for (absl::string_view read : sluice::fuzz::SplitIntoReads(
           sluice::fuzz::AsText(data + 1, size - 1), data[0])) {
    if (!connection.Read(read)) break;
  }
  return 0;
}
