// Building error statuses and reading their OpenAI details back.
#include "libs/status/errors.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace sluice::status {
namespace {

constexpr char kErrorUrl[] = "type.googleapis.com/sluice.v1.Error";

absl::Status Make(absl::StatusCode code, std::string message, int http_status,
                  std::string type, std::string param, std::string error_code,
                  absl::Duration retry_after = absl::ZeroDuration()) {
  sluice::v1::Error error;
  error.set_retry_after_ms(absl::ToInt64Milliseconds(retry_after));
  error.set_message(std::move(message));
  error.set_type(std::move(type));
  error.set_param(std::move(param));
  error.set_code(std::move(error_code));
  error.set_http_status(http_status);
  return StatusFromError(error, code);
}

// The length of the well-formed UTF-8 sequence at the start of `s` (no
// overlong forms, surrogates or code points past U+10FFFF); 0 if there is
// none.
size_t Utf8SequenceLength(absl::string_view s) {
  const auto byte = [&s](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = lead >= 0xC2 && lead <= 0xDF   ? 2
                  : lead >= 0xE0 && lead <= 0xEF ? 3
                  : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                 : 0;
  if (length == 0 || s.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  const uint8_t second = byte(1);
  if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) ||
      (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F)) {
    return 0;
  }
  return length;
}

// `text` with every byte that starts no well-formed UTF-8 sequence replaced
// by U+FFFD: an error's fields are protobuf strings, which must be UTF-8
// (an upstream's error body may not be; serialized as it is, the error
// would not parse on the other side of a gRPC call).
std::string ValidUtf8(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    size_t length = Utf8SequenceLength(text);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      length = 1;
    } else {
      out.append(text.data(), length);
    }
    text.remove_prefix(length);
  }
  return out;
}

void MakeUtf8(std::string& field) {
  for (size_t at = 0; at < field.size();) {
    size_t length = Utf8SequenceLength(absl::string_view(field).substr(at));
    if (length == 0) {
      field = ValidUtf8(field);
      return;
    }
    at += length;
  }
}

}  // namespace

absl::Status StatusFromError(const sluice::v1::Error& error,
                             absl::StatusCode code) {
  sluice::v1::Error valid = error;
  for (std::string* field :
       {valid.mutable_message(), valid.mutable_type(), valid.mutable_param(),
        valid.mutable_code()}) {
    MakeUtf8(*field);
  }
  absl::Status status(code, valid.message());
  status.SetPayload(kErrorUrl, absl::Cord(valid.SerializeAsString()));
  return status;
}

absl::Status InvalidRequest(std::string message, std::string param,
                            std::string code) {
  return Make(absl::StatusCode::kInvalidArgument, std::move(message), 400,
              "invalid_request_error", std::move(param), std::move(code));
}

absl::Status Unauthenticated(std::string message) {
  return Make(absl::StatusCode::kUnauthenticated, std::move(message), 401,
              "invalid_request_error", "", "invalid_api_key");
}

absl::Status PermissionDenied(std::string message, std::string param,
                              std::string code) {
  return Make(absl::StatusCode::kPermissionDenied, std::move(message), 403,
              "permission_error", std::move(param), std::move(code));
}

absl::Status NotFound(std::string message, std::string param,
                      std::string code) {
  return Make(absl::StatusCode::kNotFound, std::move(message), 404,
              "invalid_request_error", std::move(param), std::move(code));
}

absl::Status RateLimited(std::string message, absl::Duration retry_after) {
  return Make(absl::StatusCode::kResourceExhausted, std::move(message), 429,
              "rate_limit_error", "", "rate_limit_exceeded", retry_after);
}

absl::Status QuotaExceeded(std::string message) {
  return Make(absl::StatusCode::kResourceExhausted, std::move(message), 429,
              "insufficient_quota", "", "insufficient_quota");
}

absl::Status UpstreamError(std::string message, int http_status,
                           std::string type, std::string code) {
  if (http_status == 429) {
    return Make(absl::StatusCode::kResourceExhausted, std::move(message), 429,
                type.empty() ? "rate_limit_error" : type, "", std::move(code));
  }
  if (http_status >= 400 && http_status < 500) {
    absl::StatusCode status_code = http_status == 401 || http_status == 403
                                       ? absl::StatusCode::kFailedPrecondition
                                       : absl::StatusCode::kInvalidArgument;
    return Make(status_code, std::move(message),
                http_status == 401 || http_status == 403 ? 502 : http_status,
                type.empty() ? "invalid_request_error" : type, "",
                std::move(code));
  }
  return Make(absl::StatusCode::kUnavailable, std::move(message), 502,
              "upstream_error", "", std::move(code));
}

sluice::v1::Error ErrorFromStatus(const absl::Status& status) {
  sluice::v1::Error error;
  if (auto payload = status.GetPayload(kErrorUrl);
      payload.has_value() && error.ParseFromString(std::string(*payload))) {
    return error;
  }
  error.set_message(ValidUtf8(status.message()));
  int http = 500;
  std::string type = "server_error", code;
  switch (status.code()) {
    case absl::StatusCode::kOk:
      http = 200;
      type.clear();
      break;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      http = 400;
      type = "invalid_request_error";
      break;
    case absl::StatusCode::kUnauthenticated:
      http = 401;
      type = "invalid_request_error";
      code = "invalid_api_key";
      break;
    case absl::StatusCode::kPermissionDenied:
      http = 403;
      type = "permission_error";
      break;
    case absl::StatusCode::kNotFound:
      http = 404;
      type = "invalid_request_error";
      break;
    case absl::StatusCode::kResourceExhausted:
      http = 429;
      type = "rate_limit_error";
      break;
    case absl::StatusCode::kDeadlineExceeded:
      http = 504;
      type = "timeout_error";
      break;
    case absl::StatusCode::kUnavailable:
      http = 503;
      code = "service_unavailable";
      break;
    case absl::StatusCode::kUnimplemented:
      http = 501;
      type = "invalid_request_error";
      code = "not_implemented";
      break;
    case absl::StatusCode::kCancelled:
      http = 499;
      type = "client_closed_request";
      break;
    default:
      break;
  }
  error.set_http_status(http);
  error.set_type(type);
  error.set_code(code);
  return error;
}

std::optional<absl::Duration> RetryAfterOf(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kResourceExhausted)
    return std::nullopt;
  sluice::v1::Error error = ErrorFromStatus(status);
  if (error.retry_after_ms() <= 0) return std::nullopt;
  return absl::Milliseconds(error.retry_after_ms());
}

std::string RedactSecrets(absl::string_view text) {
  // Characters of a key or token: base64url, base64 and JWT alphabets.
  auto is_token_char = [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
           c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
  };
  // Characters that continue a word: "task-sk-x" and "disk" hold no key,
  // "api_key=sk-..." does.
  auto is_word_char = [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
           c == '_' || c == '.';
  };
  auto token_end = [&](size_t from) {
    while (from < text.size() && is_token_char(text[from])) ++from;
    return from;
  };
  // Where the value of a secret-named field starts ("x-api-key: v",
  // "api_key=v", "\"password\": \"v\""), or npos.
  auto secret_value_at = [&](size_t i) -> size_t {
    static constexpr absl::string_view kNames[] = {
        "x-api-key", "x-goog-api-key", "api_key",       "api-key",
        "apikey",    "access_token",   "refresh_token", "client_secret",
        "password",  "secret_key"};
    for (absl::string_view name : kNames) {
      if (!absl::StartsWithIgnoreCase(text.substr(i), name)) continue;
      size_t j = i + name.size();
      if (j < text.size() && is_word_char(text[j])) continue;
      if (j < text.size() && (text[j] == '"' || text[j] == '\'')) ++j;
      while (j < text.size() && text[j] == ' ') ++j;
      if (j >= text.size() || (text[j] != ':' && text[j] != '=')) continue;
      ++j;
      while (j < text.size() && text[j] == ' ') ++j;
      if (j < text.size() && (text[j] == '"' || text[j] == '\'')) ++j;
      return j;
    }
    return absl::string_view::npos;
  };
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    bool word_start = i == 0 || !is_word_char(text[i - 1]);
    size_t value = word_start ? secret_value_at(i) : absl::string_view::npos;
    if (value != absl::string_view::npos && value < text.size() &&
        is_token_char(text[value])) {
      out.append(text.data() + i, value - i);
      out += "***";
      i = token_end(value);
    } else if (word_start && absl::StartsWith(text.substr(i), "sk-")) {
      out += "sk-***";
      i = token_end(i + 3);
    } else if (word_start &&
               absl::StartsWithIgnoreCase(text.substr(i), "bearer ")) {
      out.append(text.data() + i, 7);
      size_t start = i + 7;
      while (start < text.size() && text[start] == ' ') ++start;
      out += "***";
      i = token_end(start);
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

std::string RedactValues(absl::string_view text,
                         absl::Span<const std::string> secrets) {
  std::vector<std::pair<absl::string_view, absl::string_view>> masks;
  for (const std::string& secret : secrets) {
    if (!secret.empty()) masks.emplace_back(secret, "***");
  }
  return absl::StrReplaceAll(text, masks);
}

absl::Status RedactValues(const absl::Status& status,
                          absl::Span<const std::string> secrets) {
  if (status.ok()) return status;
  std::string message = RedactValues(status.message(), secrets);
  bool changed = message != status.message();
  absl::Status redacted(status.code(), message);
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    sluice::v1::Error error;
    if (url != kErrorUrl || !error.ParseFromString(std::string(payload))) {
      redacted.SetPayload(url, payload);
      return;
    }
    std::string error_message = RedactValues(error.message(), secrets);
    changed = changed || error_message != error.message();
    error.set_message(std::move(error_message));
    redacted.SetPayload(url, absl::Cord(error.SerializeAsString()));
  });
  return changed ? redacted : status;
}

}  // namespace sluice::status
