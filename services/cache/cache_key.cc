#include "services/cache/cache_key.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "libs/codec/json_util.h"
#include "libs/hash/sha256.h"

namespace sluice::cache {
namespace {

using codec::internal::JsonWriter;

void WriteSorted(const rapidjson::Value& value, JsonWriter& json) {
  if (value.IsObject()) {
    std::vector<const rapidjson::Value::Member*> members;
    for (const auto& member : value.GetObject()) members.push_back(&member);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) {
      return codec::internal::View(a->name) < codec::internal::View(b->name);
    });
    json.StartObject();
    for (const auto* member : members) {
      json.Key(member->name.GetString(), member->name.GetStringLength());
      WriteSorted(member->value, json);
    }
    json.EndObject();
  } else if (value.IsArray()) {
    json.StartArray();
    for (const auto& item : value.GetArray()) WriteSorted(item, json);
    json.EndArray();
  } else {
    value.Accept(json);
  }
}

void Canonicalise(std::string* json) {
  if (!json->empty()) *json = CanonicalJson(*json);
}

}  // namespace

std::string CanonicalJson(absl::string_view json) {
  if (codec::internal::FindTooDeep(json, codec::internal::kMaxJsonDepth) !=
      absl::string_view::npos) {
    return std::string(json);
  }
  rapidjson::Document doc;
  doc.Parse<codec::internal::kUntrustedParseFlags>(json.data(), json.size());
  if (doc.HasParseError()) return std::string(json);
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  WriteSorted(doc, writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string CacheKey(const sluice::v1::ChatRequest& request,
                     absl::string_view tenant,
                     absl::string_view resolved_model) {
  sluice::v1::ChatRequest canonical = request;
  canonical.clear_model();
  canonical.clear_stream();
  canonical.clear_include_usage();
  canonical.clear_user();
  canonical.clear_metadata();
  canonical.clear_context();
  Canonicalise(canonical.mutable_response_format_json());
  Canonicalise(canonical.mutable_tools_json());
  Canonicalise(canonical.mutable_tool_choice_json());
  Canonicalise(canonical.mutable_extra_json());
  for (sluice::v1::Message& message : *canonical.mutable_messages()) {
    for (sluice::v1::ToolCall& call : *message.mutable_tool_calls()) {
      Canonicalise(call.mutable_function_arguments());
    }
    if (message.has_parts()) {
      for (auto& part : *message.mutable_parts()->mutable_parts()) {
        Canonicalise(part.mutable_raw_json());
      }
    }
  }
  // max_tokens and max_completion_tokens mean the same limit.
  if (canonical.has_max_tokens() && !canonical.has_max_completion_tokens()) {
    canonical.set_max_completion_tokens(canonical.max_tokens());
  }
  canonical.clear_max_tokens();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    canonical.SerializeToCodedStream(&coded);
  }
  // Length-prefixed parts: no two (tenant, model) pairs share a prefix.
  return hash::Sha256Hex(absl::StrCat("sluice-cache-v1:", tenant.size(), ":",
                                      tenant, resolved_model.size(), ":",
                                      resolved_model, bytes));
}

}  // namespace sluice::cache
