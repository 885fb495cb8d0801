// multipart/form-data parser; see multipart.h.
#include "libs/http/multipart.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace sluice::http {
namespace {

constexpr size_t npos = absl::string_view::npos;

// A header value of the form `type; name=token; name="quoted \"string\""`.
struct ParameterizedValue {
  std::string type;  // lower-cased
  // Names lower-cased, values unquoted.
  std::vector<std::pair<std::string, std::string>> parameters;

  // The first parameter with this (lower-case) name, or empty.
  absl::string_view Get(absl::string_view lower_name) const {
    for (const auto& [name, value] : parameters) {
      if (name == lower_name) return value;
    }
    return {};
  }
};

// Parameter names are lower-cased; ones without a value are skipped, and
// so is whatever follows a quoted string up to the next ';'.
absl::StatusOr<ParameterizedValue> ParseParameterized(absl::string_view what,
                                                      absl::string_view value) {
  ParameterizedValue out;
  size_t semicolon = value.find(';');
  out.type = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(value.substr(0, semicolon)));
  value.remove_prefix(semicolon == npos ? value.size() : semicolon);
  while (true) {
    value = absl::StripLeadingAsciiWhitespace(value);
    if (value.empty()) return out;
    if (value.front() == ';') {
      value.remove_prefix(1);
      continue;
    }
    size_t end = value.find_first_of("=;");
    std::string name = absl::AsciiStrToLower(
        absl::StripTrailingAsciiWhitespace(value.substr(0, end)));
    if (end == npos) return out;
    value.remove_prefix(end);
    if (value.front() == ';') continue;
    value = absl::StripLeadingAsciiWhitespace(value.substr(1));
    std::string parsed;
    if (!value.empty() && value.front() == '"') {
      size_t i = 1;
      for (; i < value.size() && value[i] != '"'; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        parsed.push_back(value[i]);
      }
      if (i == value.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, ": unterminated quoted string in parameter ", name));
      }
      value.remove_prefix(i + 1);
      size_t next = value.find(';');
      value.remove_prefix(next == npos ? value.size() : next);
    } else {
      size_t next = value.find(';');
      parsed = std::string(
          absl::StripTrailingAsciiWhitespace(value.substr(0, next)));
      value.remove_prefix(next == npos ? value.size() : next);
    }
    out.parameters.emplace_back(std::move(name), std::move(parsed));
  }
}

// Walks a body from delimiter to delimiter. A delimiter is a line break,
// "--" and the boundary at the start of a line, then either "--" (the
// close delimiter) or optional spaces and the end of that line: anything
// else on the line makes it part data.
class MultipartReader {
 public:
  MultipartReader(absl::string_view body, absl::string_view boundary)
      : body_(body),
        dash_boundary_(absl::StrCat("--", boundary)),
        line_dash_boundary_(absl::StrCat("\n--", boundary)) {}

  absl::StatusOr<std::vector<FormPart>> Parse();

 private:
  struct Delimiter {
    bool close = false;
    size_t next = 0;    // where the next part's headers start
    bool crlf = false;  // the line ended with CRLF
  };

  // The delimiter whose "--boundary" starts at `pos`, if it is one.
  std::optional<Delimiter> DelimiterAt(size_t pos) const;
  // Reads the headers of the part starting at pos_ into `part`.
  absl::Status ReadPartHeaders(int number, FormPart& part);
  absl::Status MissingClose() const {
    return absl::InvalidArgumentError(absl::StrCat(
        "multipart body: missing closing boundary ", dash_boundary_, "--"));
  }

  absl::string_view body_;
  std::string dash_boundary_;       // "--boundary"
  std::string line_dash_boundary_;  // "\n--boundary"
  bool crlf_ = true;  // line breaks before delimiters must be CRLF
  size_t pos_ = 0;
};

std::optional<MultipartReader::Delimiter> MultipartReader::DelimiterAt(
    size_t pos) const {
  if (body_.substr(pos, dash_boundary_.size()) != dash_boundary_) {
    return std::nullopt;
  }
  pos += dash_boundary_.size();
  if (body_.substr(pos, 2) == "--") return Delimiter{true, pos + 2, crlf_};
  while (pos < body_.size() && (body_[pos] == ' ' || body_[pos] == '\t')) {
    ++pos;
  }
  if (body_.substr(pos, 2) == "\r\n") return Delimiter{false, pos + 2, true};
  if (body_.substr(pos, 1) == "\n") return Delimiter{false, pos + 1, false};
  return std::nullopt;
}

absl::StatusOr<std::vector<FormPart>> MultipartReader::Parse() {
  // The opening delimiter: at the very start or after a preamble. Its line
  // break says whether bare LFs are tolerated before later delimiters.
  std::optional<Delimiter> delimiter = DelimiterAt(0);
  for (size_t hit = body_.find(line_dash_boundary_); !delimiter.has_value();
       hit = body_.find(line_dash_boundary_, hit + 1)) {
    if (hit == npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("multipart body: no opening boundary ", dash_boundary_));
    }
    delimiter = DelimiterAt(hit + 1);
  }
  crlf_ = delimiter->close || delimiter->crlf;
  std::vector<FormPart> parts;
  for (int number = 1; !delimiter->close; ++number) {
    pos_ = delimiter->next;
    if (pos_ >= body_.size()) return MissingClose();
    FormPart part;
    if (absl::Status status = ReadPartHeaders(number, part); !status.ok()) {
      return status;
    }
    // The data runs up to the line break that starts the next delimiter.
    size_t data_end = npos;
    delimiter.reset();
    for (size_t hit = body_.find(line_dash_boundary_, pos_);
         !delimiter.has_value();
         hit = body_.find(line_dash_boundary_, hit + 1)) {
      if (hit == npos) return MissingClose();
      bool cr = hit > pos_ && body_[hit - 1] == '\r';
      if (crlf_ && !cr) continue;
      delimiter = DelimiterAt(hit + 1);
      data_end = cr ? hit - 1 : hit;
    }
    part.data = body_.substr(pos_, data_end - pos_);
    parts.push_back(std::move(part));
  }
  return parts;  // what follows the close delimiter is the epilogue
}

absl::Status MultipartReader::ReadPartHeaders(int number, FormPart& part) {
  std::string disposition;
  std::string* last = nullptr;  // the value an indented line continues
  while (true) {
    size_t eol = body_.find('\n', pos_);
    if (eol == npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "multipart body: part ", number, ": headers do not end"));
    }
    absl::string_view line = body_.substr(pos_, eol - pos_);
    pos_ = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (line.substr(0, dash_boundary_.size()) == dash_boundary_) {
      return absl::InvalidArgumentError(
          absl::StrCat("multipart body: part ", number,
                       ": headers do not end before the next boundary"));
    }
    if ((line.front() == ' ' || line.front() == '\t') && last != nullptr) {
      absl::StrAppend(last, " ", absl::StripAsciiWhitespace(line));
      continue;
    }
    size_t colon = line.find(':');
    if (colon == npos || colon == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "multipart body: part ", number, ": malformed header line"));
    }
    std::string name = absl::AsciiStrToLower(
        absl::StripAsciiWhitespace(line.substr(0, colon)));
    absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(colon + 1));
    last = nullptr;
    if (name == "content-disposition" && disposition.empty()) {
      disposition = std::string(value);
      last = &disposition;
    } else if (name == "content-type" && part.content_type.empty()) {
      part.content_type = std::string(value);
      last = &part.content_type;
    }
  }
  std::string what =
      absl::StrCat("multipart body: part ", number, ": Content-Disposition");
  if (disposition.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "multipart body: part ", number, " has no Content-Disposition header"));
  }
  absl::StatusOr<ParameterizedValue> parsed =
      ParseParameterized(what, disposition);
  if (!parsed.ok()) return parsed.status();
  if (parsed->type != "form-data") {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is \"", parsed->type, "\", not form-data"));
  }
  part.name = std::string(parsed->Get("name"));
  if (part.name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("multipart body: part ", number, " has no name"));
  }
  part.filename = std::string(parsed->Get("filename"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<FormPart>> ParseMultipartForm(
    absl::string_view content_type, absl::string_view body) {
  absl::StatusOr<ParameterizedValue> type =
      ParseParameterized("Content-Type", content_type);
  if (!type.ok()) return type.status();
  if (type->type != "multipart/form-data") {
    return absl::InvalidArgumentError(absl::StrCat(
        "Content-Type is \"", type->type, "\", not multipart/form-data"));
  }
  absl::string_view boundary = type->Get("boundary");
  if (boundary.empty()) {
    return absl::InvalidArgumentError(
        "Content-Type multipart/form-data has no boundary parameter");
  }
  if (boundary.find_first_of("\r\n") != npos) {
    return absl::InvalidArgumentError(
        "Content-Type multipart/form-data has an invalid boundary");
  }
  return MultipartReader(body, boundary).Parse();
}

const FormPart* FindFormPart(const std::vector<FormPart>& parts,
                             absl::string_view name) {
  for (const FormPart& part : parts) {
    if (part.name == name) return &part;
  }
  return nullptr;
}

}  // namespace sluice::http
