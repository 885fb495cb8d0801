#include "services/adapters/upstream_error.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"
#include "libs/upstream/retry_after.h"
#include "rapidjson/document.h"

namespace sluice::adapters {

absl::Status UpstreamHttpError(absl::string_view provider,
                               const upstream::HttpResponseHead& head,
                               absl::string_view body, absl::Time now) {
  std::string message = absl::StrCat("upstream ", provider, " answered HTTP ",
                                     head.status);
  std::string type, code;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("error") &&
      doc["error"].IsObject()) {
    const auto& error = doc["error"];
    if (error.HasMember("message") && error["message"].IsString()) {
      absl::StrAppend(&message, ": ", error["message"].GetString());
    }
    if (error.HasMember("type") && error["type"].IsString()) {
      type = error["type"].GetString();
    }
    if (error.HasMember("code") && error["code"].IsString()) {
      code = error["code"].GetString();
    }
  }
  message = status::RedactSecrets(message);
  if (head.status == 429) {
    std::optional<absl::Duration> retry_after =
        upstream::ParseRetryAfter(head.Header("retry-after"), now);
    return status::RateLimited(message,
                               retry_after.value_or(absl::ZeroDuration()));
  }
  return status::UpstreamError(message, head.status, type, code);
}

}  // namespace sluice::adapters
