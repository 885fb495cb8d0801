#include "services/ingress/batch_json.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sluice::ingress {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void String(Writer& w, absl::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void StringOrNull(Writer& w, absl::string_view s) {
  if (s.empty()) {
    w.Null();
  } else {
    String(w, s);
  }
}

void Time(Writer& w, absl::Time t) {
  if (t == absl::InfinitePast()) {
    w.Null();
  } else {
    w.Int64(absl::ToUnixSeconds(t));
  }
}

double Usd(int64_t micro_usd) { return static_cast<double>(micro_usd) / 1e6; }

void WriteFile(Writer& w, const StoredFile& file) {
  w.StartObject();
  w.Key("id");
  String(w, file.id);
  w.Key("object");
  w.String("file");
  w.Key("bytes");
  w.Int64(file.bytes);
  w.Key("created_at");
  Time(w, file.created_at);
  w.Key("filename");
  String(w, file.filename);
  w.Key("purpose");
  String(w, file.purpose);
  w.Key("status");
  w.String("processed");
  w.Key("expires_at");
  w.Null();
  w.Key("status_details");
  w.Null();
  w.EndObject();
}

void WriteBatch(Writer& w, const BatchRecord& b) {
  w.StartObject();
  w.Key("id");
  String(w, b.id);
  w.Key("object");
  w.String("batch");
  w.Key("endpoint");
  String(w, b.endpoint);
  w.Key("errors");
  if (b.errors_json.empty()) {
    w.Null();
  } else {
    w.RawValue(b.errors_json.data(), b.errors_json.size(), rapidjson::kObjectType);
  }
  w.Key("input_file_id");
  String(w, b.input_file_id);
  w.Key("completion_window");
  String(w, b.completion_window);
  w.Key("status");
  String(w, b.status);
  w.Key("output_file_id");
  StringOrNull(w, b.output_file_id);
  w.Key("error_file_id");
  StringOrNull(w, b.error_file_id);
  const std::pair<const char*, absl::Time> times[] = {
      {"created_at", b.created_at},       {"in_progress_at", b.in_progress_at},
      {"expires_at", b.expires_at},       {"finalizing_at", b.finalizing_at},
      {"completed_at", b.completed_at},   {"failed_at", b.failed_at},
      {"expired_at", b.expired_at},       {"cancelling_at", b.cancelling_at},
      {"cancelled_at", b.cancelled_at}};
  for (const auto& [name, time] : times) {
    w.Key(name);
    Time(w, time);
  }
  w.Key("request_counts");
  w.StartObject();
  w.Key("total");
  w.Int64(b.total);
  w.Key("completed");
  w.Int64(b.completed);
  w.Key("failed");
  w.Int64(b.failed);
  w.EndObject();
  w.Key("metadata");
  if (b.metadata_json.empty()) {
    w.Null();
  } else {
    w.RawValue(b.metadata_json.data(), b.metadata_json.size(), rapidjson::kObjectType);
  }
  w.Key("usage");
  w.StartObject();
  w.Key("input_tokens");
  w.Int64(b.prompt_tokens);
  w.Key("output_tokens");
  w.Int64(b.completion_tokens);
  w.Key("total_tokens");
  w.Int64(b.prompt_tokens + b.completion_tokens);
  w.Key("input_tokens_details");
  w.StartObject();
  w.Key("cached_tokens");
  w.Int64(b.cached_tokens);
  w.EndObject();
  w.Key("output_tokens_details");
  w.StartObject();
  w.Key("reasoning_tokens");
  w.Int64(b.reasoning_tokens);
  w.EndObject();
  w.EndObject();
  // What the lines cost, against what they would have cost at the prices of
  // the moment the batch was submitted (time-windowed prices).
  w.Key("sluice");
  w.StartObject();
  w.Key("cost_usd");
  w.Double(Usd(b.cost_micro_usd));
  w.Key("cost_at_submission_usd");
  w.Double(Usd(b.cost_at_submission_micro_usd));
  w.Key("saving_usd");
  w.Double(Usd(b.cost_at_submission_micro_usd - b.cost_micro_usd));
  w.Key("run_after");
  Time(w, b.run_after);
  w.Key("run_now");
  w.Bool(b.run_now);
  w.EndObject();
  w.EndObject();
}

std::string Text(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::string FileJson(const StoredFile& file) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  WriteFile(w, file);
  return Text(buffer);
}

std::string FileListJson(const std::vector<StoredFile>& files) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("object");
  w.String("list");
  w.Key("data");
  w.StartArray();
  for (const StoredFile& file : files) WriteFile(w, file);
  w.EndArray();
  w.Key("has_more");
  w.Bool(false);
  w.EndObject();
  return Text(buffer);
}

std::string BatchJson(const BatchRecord& batch) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  WriteBatch(w, batch);
  return Text(buffer);
}

std::string BatchListJson(const std::vector<BatchRecord>& batches, bool has_more) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("object");
  w.String("list");
  w.Key("data");
  w.StartArray();
  for (const BatchRecord& batch : batches) WriteBatch(w, batch);
  w.EndArray();
  w.Key("first_id");
  StringOrNull(w, batches.empty() ? "" : batches.front().id);
  w.Key("last_id");
  StringOrNull(w, batches.empty() ? "" : batches.back().id);
  w.Key("has_more");
  w.Bool(has_more);
  w.EndObject();
  return Text(buffer);
}

std::string BatchErrorsJson(const std::vector<BatchLineError>& errors) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("object");
  w.String("list");
  w.Key("data");
  w.StartArray();
  for (const BatchLineError& error : errors) {
    w.StartObject();
    w.Key("code");
    String(w, error.code);
    w.Key("message");
    String(w, error.message);
    w.Key("param");
    StringOrNull(w, error.param);
    w.Key("line");
    if (error.line > 0) {
      w.Int64(error.line);
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Text(buffer);
}

}  // namespace sluice::ingress
