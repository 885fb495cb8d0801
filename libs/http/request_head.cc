#include "libs/http/request_head.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sluice::http::internal {

namespace beast = boost::beast;
namespace http = boost::beast::http;

Headers LowerCasedFields(const http::fields& fields) {
  Headers headers;
  for (const auto& field : fields) {
    headers.emplace_back(
        absl::AsciiStrToLower(absl::string_view(field.name_string().data(),
                                                field.name_string().size())),
        std::string(field.value()));
  }
  return headers;
}

Request RequestFromMessage(http::request<http::string_body>&& message) {
  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  size_t question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) {
    request.query = request.target.substr(question + 1);
  }
  request.headers = LowerCasedFields(message);
  request.body = std::move(message.body());
  return request;
}

void ReadPartialHead(absl::string_view raw, bool request_line,
                     RejectedRequest& out) {
  size_t eol = raw.find("\r\n");
  if (request_line) {
    if (eol == absl::string_view::npos) return;
    std::vector<absl::string_view> parts =
        absl::StrSplit(raw.substr(0, eol), ' ');
    if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
        !absl::StartsWith(parts[2], "HTTP/")) {
      return;
    }
    out.method = std::string(parts[0]);
    out.target = std::string(parts[1]);
    raw.remove_prefix(eol + 2);
    eol = raw.find("\r\n");
  }
  for (; eol != absl::string_view::npos && eol > 0; eol = raw.find("\r\n")) {
    absl::string_view line = raw.substr(0, eol);
    raw.remove_prefix(eol + 2);
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0 ||
        line.substr(0, colon).find_first_of(" \t") != absl::string_view::npos) {
      return;
    }
    out.headers.emplace_back(
        absl::AsciiStrToLower(line.substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
}

uint64_t BodyLimitFor(const ServerOptions& options, absl::string_view target) {
  absl::string_view path = target.substr(0, target.find('?'));
  uint64_t limit = options.max_body_bytes;
  std::optional<size_t> longest;
  for (const auto& [prefix, prefix_limit] :
       options.body_limits_by_path_prefix) {
    if (absl::StartsWith(path, prefix) &&
        (!longest.has_value() || prefix.size() > *longest)) {
      longest = prefix.size();
      limit = prefix_limit;
    }
  }
  return limit;
}

uint64_t LargestBodyLimit(const ServerOptions& options) {
  uint64_t largest = options.max_body_bytes;
  for (const auto& [prefix, limit] : options.body_limits_by_path_prefix) {
    largest = std::max(largest, limit);
  }
  return largest;
}

bool BodyFramingIsUnambiguous(const http::fields& fields) {
  int lengths = 0, encodings = 0;
  for (const auto& field : fields) {
    if (field.name() == http::field::content_length) {
      ++lengths;
      if (field.value().find(',') != beast::string_view::npos) return false;
    } else if (field.name() == http::field::transfer_encoding) {
      ++encodings;
      absl::string_view value(field.value().data(), field.value().size());
      if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(value),
                                  "chunked")) {
        return false;
      }
    }
  }
  return lengths <= 1 && encodings <= 1 && !(lengths == 1 && encodings == 1);
}

ChunkFraming CheckChunkFraming(absl::string_view unparsed,
                               uint64_t max_trailer_bytes) {
  absl::ConsumePrefix(&unparsed, "\r\n");  // the end of the last chunk's data
  size_t eol = unparsed.substr(0, kMaxChunkLineBytes + 2).find("\r\n");
  if (eol == absl::string_view::npos) {
    return unparsed.size() >= kMaxChunkLineBytes + 2
               ? ChunkFraming::kLineTooLong
               : ChunkFraming::kWithinLimits;
  }
  // A whole line left unconsumed is the last chunk's: the trailers follow.
  return unparsed.size() - (eol + 2) > max_trailer_bytes
             ? ChunkFraming::kTrailersTooLarge
             : ChunkFraming::kWithinLimits;
}

}  // namespace sluice::http::internal
