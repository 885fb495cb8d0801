// The request field readers and OpenAI-worded errors declared in
// field_checks.h.
#include "libs/codec/field_checks.h"

#include "absl/strings/str_cat.h"
#include "libs/codec/json_util.h"
#include "libs/status/errors.h"

namespace sluice::codec::internal {
namespace {

using rapidjson::Value;

// Function and schema names: ^[a-zA-Z0-9_-]{1,64}$, as OpenAI requires.
constexpr size_t kMaxNameLength = 64;
// Client values quoted in error messages are cut to this many bytes.
constexpr size_t kMaxEcho = 64;

}  // namespace

// ---- Errors in OpenAI's words.

// How OpenAI's errors name the type of a JSON value.
const char* TypeName(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return v.IsDouble() ? "a decimal" : "an integer";
  }
  return "a value";
}

// `text` cut to kMaxEcho bytes without splitting a UTF-8 sequence.
std::string Echo(absl::string_view text) {
  if (text.size() <= kMaxEcho) return std::string(text);
  size_t n = kMaxEcho;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return absl::StrCat(text.substr(0, n), "...");
}

absl::Status TypeError(const std::string& param, absl::string_view expected,
                       const Value& got) {
  return status::InvalidRequest(
      absl::StrCat("Invalid type for '", param, "': expected ", expected,
                   ", but got ", TypeName(got), " instead."),
      param, "invalid_type");
}

absl::Status Missing(const std::string& param) {
  return status::InvalidRequest(
      absl::StrCat("Missing required parameter: '", param, "'."), param,
      "missing_required_parameter");
}

absl::Status InvalidValue(const std::string& param, absl::string_view value,
                          Names supported) {
  std::string list;
  size_t i = 0;
  for (absl::string_view s : supported) {
    const char* sep = i == 0                     ? ""
                      : i + 1 < supported.size() ? ", "
                      : supported.size() == 2    ? " and "
                                                 : ", and ";
    absl::StrAppend(&list, sep, "'", s, "'");
    ++i;
  }
  return status::InvalidRequest(
      absl::StrCat("Invalid value: '", Echo(value),
                   "'. Supported values are: ", list, "."),
      param, "invalid_value");
}

// "Invalid 'max_tokens': integer above maximum value. Expected a value <=
// 1000000, but got 5000000 instead."
absl::Status OutOfRange(const std::string& param, const char* kind,
                        const Value& got, bool above, absl::string_view bound) {
  return status::InvalidRequest(
      absl::StrCat("Invalid '", param, "': ", kind,
                   above ? " above maximum" : " below minimum",
                   " value. Expected a value ", above ? "<= " : ">= ", bound,
                   ", but got ", ToJson(got), " instead."),
      param,
      absl::StrCat(kind, above ? "_above_max_value" : "_below_min_value"));
}

absl::Status EmptyArray(const std::string& param) {
  return status::InvalidRequest(
      absl::StrCat("Invalid '", param,
                   "': empty array. Expected an array with minimum length 1, "
                   "but got an empty array instead."),
      param, "empty_array");
}

// `what`: "array" or "string".
absl::Status TooLong(const std::string& param, absl::string_view what,
                     size_t max, size_t got) {
  absl::string_view a = what == "array" ? "an " : "a ";
  return status::InvalidRequest(
      absl::StrCat("Invalid '", param, "': ", what, " too long. Expected ", a,
                   what, " with maximum length ", max, ", but got ", a, what,
                   " with length ", got, " instead."),
      param, absl::StrCat(what, "_above_max_length"));
}

// ---- Typed readers. Each names `param` when the value is wrong.

absl::StatusOr<absl::string_view> GetString(const Value& v,
                                            const std::string& param) {
  if (!v.IsString()) return TypeError(param, "a string", v);
  return View(v);
}

absl::StatusOr<bool> GetBool(const Value& v, const std::string& param) {
  if (!v.IsBool()) return TypeError(param, "a boolean", v);
  return v.GetBool();
}

absl::StatusOr<double> GetDecimal(const Value& v, const std::string& param,
                                  double min, double max) {
  if (!v.IsNumber()) return TypeError(param, "a decimal", v);
  double d = v.GetDouble();
  if (d < min) return OutOfRange(param, "decimal", v, false, absl::StrCat(min));
  if (d > max) return OutOfRange(param, "decimal", v, true, absl::StrCat(max));
  return d;
}

// Only JSON integers: 1.0 and 1e3 are decimals, as OpenAI reads them.
absl::StatusOr<int64_t> GetInteger(const Value& v, const std::string& param,
                                   int64_t min, int64_t max) {
  if (!v.IsNumber() || v.IsDouble()) return TypeError(param, "an integer", v);
  // A uint64 beyond int64.
  if (!v.IsInt64()) {
    return OutOfRange(param, "integer", v, true, absl::StrCat(max));
  }
  int64_t i = v.GetInt64();
  if (i < min) return OutOfRange(param, "integer", v, false, absl::StrCat(min));
  if (i > max) return OutOfRange(param, "integer", v, true, absl::StrCat(max));
  return i;
}

// The member `name` of `object`; nullptr when absent or null.
const Value* Member(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

absl::StatusOr<absl::string_view> RequiredString(const Value& object,
                                                 const char* name,
                                                 const std::string& param) {
  const Value* v = Member(object, name);
  if (v == nullptr) return Missing(param);
  return GetString(*v, param);
}

// A required string that must not be empty either (an id).
absl::StatusOr<absl::string_view> RequiredId(const Value& object,
                                             const char* name,
                                             const std::string& param) {
  absl::StatusOr<absl::string_view> id = RequiredString(object, name, param);
  if (id.ok() && id->empty()) {
    return status::InvalidRequest(
        absl::StrCat("Invalid '", param,
                     "': empty string. Expected a string with minimum length "
                     "1, but got an empty string instead."),
        param, "empty_string");
  }
  return id;
}

absl::StatusOr<const Value*> RequiredObject(const Value& object,
                                            const char* name,
                                            const std::string& param) {
  const Value* v = Member(object, name);
  if (v == nullptr) return Missing(param);
  if (!v->IsObject()) return TypeError(param, "an object", *v);
  return v;
}

absl::Status CheckName(absl::string_view name, const std::string& param) {
  bool ok = !name.empty() && name.size() <= kMaxNameLength;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return status::InvalidRequest(
      absl::StrCat("Invalid '", param,
                   "': string does not match pattern. Expected a string that "
                   "matches the pattern '^[a-zA-Z0-9_-]{1,64}$'."),
      param, "invalid_value");
}

}  // namespace sluice::codec::internal
