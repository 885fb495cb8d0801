#include "services/ingress/job_line.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "absl/strings/str_cat.h"

namespace sluice::ingress {
namespace {

using rapidjson::Value;

std::string Serialize(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

void WriteString(rapidjson::Writer<rapidjson::StringBuffer>& w,
                 absl::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

}  // namespace

absl::StatusOr<JobLine> ParseJobLine(absl::string_view line) {
  rapidjson::Document doc;
  // Iterative: deep nesting cannot overflow the stack (the body is checked
  // like any request body when it is parsed as one).
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
      line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::InvalidArgumentError("a job must be one JSON object");
  }
  auto custom_id = doc.FindMember("custom_id");
  if (custom_id == doc.MemberEnd() || !custom_id->value.IsString() ||
      custom_id->value.GetStringLength() == 0) {
    return absl::InvalidArgumentError("a job needs \"custom_id\", a non-empty string");
  }
  auto method = doc.FindMember("method");
  if (method == doc.MemberEnd() || !method->value.IsString() ||
      absl::string_view(method->value.GetString()) != "POST") {
    return absl::InvalidArgumentError("a job's \"method\" must be \"POST\"");
  }
  auto url = doc.FindMember("url");
  if (url == doc.MemberEnd() || !url->value.IsString() ||
      absl::string_view(url->value.GetString()) != kJobEndpoint) {
    return absl::InvalidArgumentError(
        absl::StrCat("a job's \"url\" must be \"", kJobEndpoint, "\""));
  }
  auto body = doc.FindMember("body");
  if (body == doc.MemberEnd() || !body->value.IsObject()) {
    return absl::InvalidArgumentError("a job's \"body\" must be a JSON object");
  }
  return JobLine{custom_id->value.GetString(), Serialize(body->value)};
}

std::string JobResultLine(absl::string_view request_id,
                          absl::string_view custom_id, int status_code,
                          absl::string_view body_json) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("id");
  WriteString(w, absl::StrCat("batch_req_", request_id));
  w.Key("custom_id");
  WriteString(w, custom_id);
  w.Key("response");
  w.StartObject();
  w.Key("status_code");
  w.Int(status_code);
  w.Key("request_id");
  WriteString(w, request_id);
  w.Key("body");
  w.RawValue(body_json.data(), body_json.size(), rapidjson::kObjectType);
  w.EndObject();
  w.Key("error");
  w.Null();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string JobErrorLine(absl::string_view custom_id, absl::string_view code,
                         absl::string_view message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("id");
  WriteString(w, absl::StrCat("batch_req_", custom_id));
  w.Key("custom_id");
  WriteString(w, custom_id);
  w.Key("response");
  w.Null();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  WriteString(w, code);
  w.Key("message");
  WriteString(w, message);
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string JobDeadLetterLine(absl::string_view input, absl::string_view reason,
                              int attempts) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("job");
  WriteString(w, input);
  w.Key("reason");
  WriteString(w, reason);
  w.Key("attempts");
  w.Int(attempts);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::ingress
