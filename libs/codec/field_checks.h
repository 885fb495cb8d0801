// Readers and checkers for the fields of a client's request, and the errors
// they return in OpenAI's words. `param` is always the field's path the way
// OpenAI names it ("messages[0].content[1].text"); it is quoted in the
// message and returned as the error's param.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"

namespace sluice::codec::internal {

using Names = std::initializer_list<absl::string_view>;

// ---- Errors in OpenAI's words.

// How OpenAI's errors name the type of a JSON value: "an integer", "null".
const char* TypeName(const rapidjson::Value& v);

// A client's value to quote in an error, cut short without splitting a
// UTF-8 sequence.
std::string Echo(absl::string_view text);

absl::Status TypeError(const std::string& param, absl::string_view expected,
                       const rapidjson::Value& got);
absl::Status Missing(const std::string& param);
// `value` is not one of `supported`.
absl::Status InvalidValue(const std::string& param, absl::string_view value,
                          Names supported);
// `kind`: "integer" or "decimal"; `bound`: the limit `got` is beyond.
absl::Status OutOfRange(const std::string& param, const char* kind,
                        const rapidjson::Value& got, bool above,
                        absl::string_view bound);
absl::Status EmptyArray(const std::string& param);
// `what`: "array" or "string".
absl::Status TooLong(const std::string& param, absl::string_view what,
                     size_t max, size_t got);

// ---- Typed readers. Each names `param` when the value is wrong.

absl::StatusOr<absl::string_view> GetString(const rapidjson::Value& v,
                                            const std::string& param);
absl::StatusOr<bool> GetBool(const rapidjson::Value& v,
                             const std::string& param);
absl::StatusOr<double> GetDecimal(const rapidjson::Value& v,
                                  const std::string& param, double min,
                                  double max);
// Only JSON integers: 1.0 and 1e3 are decimals, as OpenAI reads them.
absl::StatusOr<int64_t> GetInteger(const rapidjson::Value& v,
                                   const std::string& param, int64_t min,
                                   int64_t max);

// The member `name` of `object`; nullptr when absent or null.
const rapidjson::Value* Member(const rapidjson::Value& object,
                               const char* name);

absl::StatusOr<absl::string_view> RequiredString(const rapidjson::Value& object,
                                                 const char* name,
                                                 const std::string& param);
// A required string that must not be empty either (an id).
absl::StatusOr<absl::string_view> RequiredId(const rapidjson::Value& object,
                                             const char* name,
                                             const std::string& param);
absl::StatusOr<const rapidjson::Value*> RequiredObject(
    const rapidjson::Value& object, const char* name, const std::string& param);

// A member that may be absent or null, else of the type `check` accepts.
template <typename Check>
absl::Status Optional(const rapidjson::Value& object, const char* name,
                      const std::string& param, Check check) {
  const rapidjson::Value* v = Member(object, name);
  if (v == nullptr) return absl::OkStatus();
  return check(*v, param).status();
}

// A function or schema name: ^[a-zA-Z0-9_-]{1,64}$, as OpenAI requires.
absl::Status CheckName(absl::string_view name, const std::string& param);

}  // namespace sluice::codec::internal
