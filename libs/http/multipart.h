// Parses multipart/form-data request bodies (RFC 7578), as sent by curl -F,
// browsers and the openai SDKs for file uploads (POST /v1/files).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::http {

// One field of a form. `data` points into the parsed body, which must
// outlive the part: uploads of hundreds of megabytes are not copied.
struct FormPart {
  std::string name;          // Content-Disposition's name, never empty
  std::string filename;      // its filename, as sent; empty if none
  std::string content_type;  // the part's Content-Type; empty if none
  absl::string_view data;    // the part's bytes, exactly as sent
};

// Parses `body` given the request's Content-Type header value (e.g.
// `multipart/form-data; boundary=----formdata-undici-0.123`). Accepts a
// quoted boundary, a preamble and an epilogue, and (tolerantly) bare LF
// line breaks when the opening boundary line ends with one. A filename is
// unescaped from its quoted string but not percent-decoded (browsers and
// undici send `"` as %22); `filename*=` is ignored. Parts come in body
// order. A body that is not such a form, lacks its closing boundary, or has
// a part without a form-data Content-Disposition and a name is an
// InvalidArgumentError.
absl::StatusOr<std::vector<FormPart>> ParseMultipartForm(
    absl::string_view content_type, absl::string_view body);

// The first part named `name`, or null.
const FormPart* FindFormPart(const std::vector<FormPart>& parts,
                             absl::string_view name);

}  // namespace sluice::http
