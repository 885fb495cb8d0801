// OpenAI error bodies and the HTTP status of any status.
#include "libs/status/openai_error.h"

#include "libs/status/errors.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sluice::status {

std::string OpenAIErrorJson(const sluice::v1::Error& error) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  auto string_or_null = [&json](const std::string& value) {
    if (value.empty()) {
      json.Null();
    } else {
      json.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    }
  };
  json.StartObject();
  json.Key("error");
  json.StartObject();
  json.Key("message");
  json.String(error.message().data(),
              static_cast<rapidjson::SizeType>(error.message().size()));
  json.Key("type");
  json.String(error.type().data(),
              static_cast<rapidjson::SizeType>(error.type().size()));
  json.Key("param");
  string_or_null(error.param());
  json.Key("code");
  string_or_null(error.code());
  json.EndObject();
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

int HttpStatusOf(const absl::Status& status) {
  return ErrorFromStatus(status).http_status();
}

}  // namespace sluice::status
