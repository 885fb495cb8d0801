#include "libs/keystore/key_columns.h"

#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace sluice::keystore {

std::string EncodeModels(const std::vector<std::string>& models) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartArray();
  for (const std::string& model : models) {
    writer.String(model.data(), static_cast<rapidjson::SizeType>(model.size()));
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::StatusOr<std::vector<std::string>> DecodeModels(absl::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsArray()) {
    return absl::DataLossError("keystore: models column is not a JSON array");
  }
  std::vector<std::string> models;
  for (const auto& v : doc.GetArray()) {
    if (!v.IsString()) {
      return absl::DataLossError("keystore: models column holds a non-string");
    }
    models.emplace_back(v.GetString(), v.GetStringLength());
  }
  return models;
}

}  // namespace sluice::keystore
