// What the HTTP server reads from a request's head beyond Beast's parser:
// our Request from Beast's message, body limits by path, the framing
// checks that stop request smuggling, the limits on a chunked body's
// framing that Beast lacks, and a best-effort reading of a head that was
// refused before Beast finished it.
#pragma once

#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "libs/http/server.h"

namespace sluice::http::internal {

// Header names lower-cased, in arrival order.
Headers LowerCasedFields(const boost::beast::http::fields& fields);

// A parsed request (remote_address left for the caller).
Request RequestFromMessage(
    boost::beast::http::request<boost::beast::http::string_body>&& message);

// Best effort for the part of a head the parser has not consumed (it takes
// the request line and each field as they arrive): the request line when
// `request_line`, then complete header lines up to the first that does not
// look like one.
void ReadPartialHead(absl::string_view raw, bool request_line,
                     RejectedRequest& out);

// The body limit of a request to `target`: that of the longest prefix of its
// path in body_limits_by_path_prefix, else max_body_bytes.
uint64_t BodyLimitFor(const ServerOptions& options, absl::string_view target);
// The largest of them all (what Beast's parser is first given).
uint64_t LargestBodyLimit(const ServerOptions& options);

// Whether a head leaves no doubt about where its body ends (RFC 9112 6.3):
// at most one Content-Length, of one value; Transfer-Encoding only alone and
// only "chunked" (the one coding we decode). Anything else is the ground of
// request smuggling behind a proxy that reads the length another way.
bool BodyFramingIsUnambiguous(const boost::beast::http::fields& fields);

// The longest chunk-size line (the size and its extensions, without the
// CRLF) of a chunked body. We use no extension. Beast (1.74) has no limit
// of its own on the line nor on the trailer section: it keeps them until
// they end, and while the trailers come in it reads the last chunk's line
// again at every read.
inline constexpr size_t kMaxChunkLineBytes = 4096;

enum class ChunkFraming { kWithinLimits, kLineTooLong, kTrailersTooLarge };

// What Beast's parser of a chunked body holds unconsumed when it needs more
// bytes: a chunk-size line not yet ended (after the CRLF that ends the last
// chunk's data), or the last chunk's line and a trailer section not yet
// ended. Whether that may grow on: the line up to kMaxChunkLineBytes, the
// trailers up to `max_trailer_bytes`. Reads no more of `unparsed` than the
// line's limit, so checking after every read stays linear.
ChunkFraming CheckChunkFraming(absl::string_view unparsed,
                               uint64_t max_trailer_bytes);

}  // namespace sluice::http::internal
