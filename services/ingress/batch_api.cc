#include "services/ingress/batch_api.h"

#include <boost/asio/post.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/http/multipart.h"
#include "libs/status/errors.h"
#include "services/ingress/batch_json.h"
#include "services/ingress/http_errors.h"
#include "services/ingress/job_line.h"

namespace sluice::ingress {
namespace {

constexpr absl::string_view kFilesPrefix = "/v1/files/";
constexpr absl::string_view kBatchesPrefix = "/v1/batches/";
// OpenAI's metadata limits.
constexpr int kMaxMetadataPairs = 16;
constexpr size_t kMaxMetadataKey = 64;
constexpr size_t kMaxMetadataValue = 512;

void RespondJson(http::ResponseWriter& writer, std::string body) {
  writer.Respond(200, {{"content-type", "application/json"}}, std::move(body));
}

// Store errors other than "not found" are ours: logged by the caller's
// answer as 500 without their text.
absl::Status Visible(const absl::Status& status) {
  if (absl::IsNotFound(status) || absl::IsFailedPrecondition(status) ||
      absl::IsInvalidArgument(status)) {
    return status;
  }
  return absl::InternalError("the batch store failed; try again");
}

// Another tenant's object, or none: the same 404.
absl::Status NotFoundOf(const absl::Status& status, absl::string_view param) {
  if (absl::IsNotFound(status)) {
    return status::NotFound(std::string(status.message()), std::string(param));
  }
  if (absl::IsFailedPrecondition(status)) {
    return status::InvalidRequest(std::string(status.message()), std::string(param));
  }
  return Visible(status);
}

// Lines of a JSONL upload (a blank last line is not one).
int64_t CountLines(absl::string_view content) {
  int64_t lines = std::count(content.begin(), content.end(), '\n');
  if (!content.empty() && content.back() != '\n') ++lines;
  return lines;
}

std::string MetadataJson(const rapidjson::Value& metadata) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  metadata.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

absl::Status CheckMetadata(const rapidjson::Value& metadata) {
  if (!metadata.IsObject()) {
    return status::InvalidRequest("'metadata' must be an object of strings", "metadata");
  }
  if (metadata.MemberCount() > kMaxMetadataPairs) {
    return status::InvalidRequest(
        absl::StrCat("'metadata' may have at most ", kMaxMetadataPairs, " keys"),
        "metadata");
  }
  for (const auto& member : metadata.GetObject()) {
    if (!member.value.IsString()) {
      return status::InvalidRequest(
          absl::StrCat("'metadata.", member.name.GetString(), "' must be a string"),
          "metadata");
    }
    if (member.name.GetStringLength() > kMaxMetadataKey ||
        member.value.GetStringLength() > kMaxMetadataValue) {
      return status::InvalidRequest(
          absl::StrCat("'metadata' keys may have at most ", kMaxMetadataKey,
                       " characters and values ", kMaxMetadataValue),
          "metadata");
    }
  }
  return absl::OkStatus();
}

}  // namespace

BatchApiLimits BatchApiLimits::FromConfig(const sluice::v1::JobsConfig& config) {
  BatchApiLimits limits;
  if (config.max_file_lines() > 0) limits.max_file_lines = config.max_file_lines();
  if (config.max_file_bytes() > 0) limits.max_file_bytes = config.max_file_bytes();
  return limits;
}

BatchApi::BatchApi(const sluice::v1::Config& config, const ApiKeyAuth* auth,
                   const AdminApi* admin, BatchStore* store, BatchRunner* runner,
                   const host::Clock* clock, host::ManualClock* manual_clock)
    : auth_(auth),
      admin_(admin),
      store_(store),
      runner_(runner),
      clock_(clock),
      manual_clock_(manual_clock),
      limits_(BatchApiLimits::FromConfig(config.jobs())) {}

http::Handler BatchApi::OffIo(Handler handler) {
  return [this, handler](http::Request request, http::ResponseWriterPtr writer) {
    boost::asio::post(pool_, [this, handler, request = std::move(request),
                              writer = std::move(writer)] {
      (this->*handler)(request, *writer);
    });
  };
}

void BatchApi::AddRoutes(http::PathRouter& paths) {
  paths.Add("POST", "/v1/files", OffIo(&BatchApi::UploadFile));
  paths.Add("GET", "/v1/files", OffIo(&BatchApi::ListFiles));
  paths.AddPrefix("GET", std::string(kFilesPrefix), OffIo(&BatchApi::GetFile));
  paths.AddPrefix("DELETE", std::string(kFilesPrefix), OffIo(&BatchApi::DeleteFile));
  paths.Add("POST", "/v1/batches", OffIo(&BatchApi::CreateBatch));
  paths.Add("GET", "/v1/batches", OffIo(&BatchApi::ListBatches));
  paths.AddPrefix("GET", std::string(kBatchesPrefix), OffIo(&BatchApi::GetBatch));
  paths.AddPrefix("POST", std::string(kBatchesPrefix), OffIo(&BatchApi::CancelBatch));
  if (manual_clock_ != nullptr) {
    paths.Add("POST", "/admin/clock", OffIo(&BatchApi::MoveClock));
  }
}

void BatchApi::UploadFile(const http::Request& request, http::ResponseWriter& writer) {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return;
  absl::StatusOr<std::vector<http::FormPart>> parts =
      http::ParseMultipartForm(request.Header("content-type"), request.body);
  if (!parts.ok()) {
    RespondWithError(writer,
                     status::InvalidRequest(
                         absl::StrCat("Uploads must be multipart/form-data with "
                                      "'purpose' and 'file': ",
                                      parts.status().message())),
                     {});
    return;
  }
  const http::FormPart* purpose = http::FindFormPart(*parts, "purpose");
  const http::FormPart* file = http::FindFormPart(*parts, "file");
  if (purpose == nullptr || purpose->data != "batch") {
    RespondWithError(writer,
                     status::InvalidRequest(
                         "'purpose' must be 'batch' (the only purpose this gateway "
                         "stores files for)",
                         "purpose"),
                     {});
    return;
  }
  if (file == nullptr) {
    RespondWithError(writer, status::InvalidRequest("'file' is required", "file"), {});
    return;
  }
  absl::string_view content = file->data;
  if (content.empty()) {
    RespondWithError(writer, status::InvalidRequest("The file is empty.", "file"), {});
    return;
  }
  if (static_cast<int64_t>(content.size()) > limits_.max_file_bytes) {
    RespondWithError(writer,
                     status::InvalidRequest(
                         absl::StrCat("The file has ", content.size(),
                                      " bytes; a batch file may have at most ",
                                      limits_.max_file_bytes),
                         "file"),
                     {});
    return;
  }
  if (int64_t lines = CountLines(content); lines > limits_.max_file_lines) {
    RespondWithError(writer,
                     status::InvalidRequest(
                         absl::StrCat("The file has ", lines,
                                      " lines; a batch file may have at most ",
                                      limits_.max_file_lines),
                         "file"),
                     {});
    return;
  }
  StoredFile record;
  record.tenant = caller->tenant;
  record.purpose = "batch";
  record.filename = file->filename.empty() ? "file.jsonl" : file->filename;
  record.created_at = clock_->Now();
  absl::StatusOr<StoredFile> stored = store_->CreateFile(std::move(record), content);
  if (!stored.ok()) {
    RespondWithError(writer, Visible(stored.status()), {});
    return;
  }
  RespondJson(writer, FileJson(*stored));
}

void BatchApi::ListFiles(const http::Request& request, http::ResponseWriter& writer) {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return;
  absl::StatusOr<std::vector<StoredFile>> files = store_->ListFiles(caller->tenant);
  if (!files.ok()) {
    RespondWithError(writer, Visible(files.status()), {});
    return;
  }
  RespondJson(writer, FileListJson(*files));
}

void BatchApi::GetFile(const http::Request& request, http::ResponseWriter& writer) {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return;
  absl::string_view rest = absl::string_view(request.path).substr(kFilesPrefix.size());
  bool content = absl::ConsumeSuffix(&rest, "/content");
  std::string id(rest);
  if (id.empty() || absl::StrContains(id, '/')) {
    RespondWithError(writer, status::NotFound("No such File object.", "file_id"), {});
    return;
  }
  if (content) {
    absl::StatusOr<std::string> bytes = store_->FileContent(caller->tenant, id);
    if (!bytes.ok()) {
      RespondWithError(writer, NotFoundOf(bytes.status(), "file_id"), {});
      return;
    }
    writer.Respond(200, {{"content-type", "application/octet-stream"}}, *std::move(bytes));
    return;
  }
  absl::StatusOr<StoredFile> file = store_->GetFile(caller->tenant, id);
  if (!file.ok()) {
    RespondWithError(writer, NotFoundOf(file.status(), "file_id"), {});
    return;
  }
  RespondJson(writer, FileJson(*file));
}

void BatchApi::DeleteFile(const http::Request& request, http::ResponseWriter& writer) {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return;
  std::string id = request.path.substr(kFilesPrefix.size());
  if (absl::Status deleted = store_->DeleteFile(caller->tenant, id); !deleted.ok()) {
    RespondWithError(writer, NotFoundOf(deleted, "file_id"), {});
    return;
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  json.StartObject();
  json.Key("id");
  json.String(id.data(), static_cast<rapidjson::SizeType>(id.size()));
  json.Key("object");
  json.String("file");
  json.Key("deleted");
  json.Bool(true);
  json.EndObject();
  RespondJson(writer, std::string(buffer.GetString(), buffer.GetSize()));
}

void BatchApi::CreateBatch(const http::Request& request, http::ResponseWriter& writer) {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return;
  absl::StatusOr<std::string> key_sha256 = ApiKeyAuth::KeyHashOf(request.Header("authorization"));
  if (!key_sha256.ok()) {
    RespondWithError(writer, key_sha256.status(), {});
    return;
  }
  rapidjson::Document body;
  body.Parse(request.body.data(), request.body.size());
  if (body.HasParseError() || !body.IsObject()) {
    RespondWithError(writer, status::InvalidRequest("The body must be a JSON object."), {});
    return;
  }
  auto string_field = [&](const char* name) -> std::optional<std::string> {
    auto it = body.FindMember(name);
    if (it == body.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  std::optional<std::string> input_file_id = string_field("input_file_id");
  std::optional<std::string> endpoint = string_field("endpoint");
  std::optional<std::string> window = string_field("completion_window");
  absl::Status invalid;
  if (!input_file_id.has_value() || input_file_id->empty()) {
    invalid = status::InvalidRequest("'input_file_id' is required", "input_file_id");
  } else if (!endpoint.has_value() || *endpoint != kJobEndpoint) {
    invalid = status::InvalidRequest(
        absl::StrCat("'endpoint' must be '", kJobEndpoint,
                     "' (the only endpoint batches may call here)"),
        "endpoint");
  } else if (!window.has_value() || *window != "24h") {
    invalid = status::InvalidRequest("'completion_window' must be '24h'",
                                     "completion_window");
  }
  BatchRecord batch;
  if (auto metadata = body.FindMember("metadata");
      invalid.ok() && metadata != body.MemberEnd() && !metadata->value.IsNull()) {
    invalid = CheckMetadata(metadata->value);
    if (invalid.ok()) batch.metadata_json = MetadataJson(metadata->value);
  }
  // sluice's own: run at once whatever the prices (no deferral).
  if (auto run_now = body.FindMember("run_now");
      invalid.ok() && run_now != body.MemberEnd()) {
    if (!run_now->value.IsBool()) {
      invalid = status::InvalidRequest("'run_now' must be a boolean", "run_now");
    } else {
      batch.run_now = run_now->value.GetBool();
    }
  }
  if (!invalid.ok()) {
    RespondWithError(writer, invalid, {});
    return;
  }
  absl::StatusOr<StoredFile> input = store_->GetFile(caller->tenant, *input_file_id);
  if (!input.ok() || input->purpose != "batch") {
    RespondWithError(writer,
                     !input.ok() && !absl::IsNotFound(input.status())
                         ? Visible(input.status())
                         : status::InvalidRequest(
                               absl::StrCat("No batch input file with id '",
                                            *input_file_id, "'."),
                               "input_file_id"),
                     {});
    return;
  }
  absl::Time now = clock_->Now();
  batch.id = NewObjectId("batch_");
  batch.tenant = caller->tenant;
  batch.key_sha256 = *std::move(key_sha256);
  batch.input_file_id = *input_file_id;
  batch.endpoint = *endpoint;
  batch.completion_window = *window;
  batch.created_at = now;
  batch.expires_at = now + absl::Hours(24);
  if (absl::Status created = store_->CreateBatch(batch); !created.ok()) {
    RespondWithError(writer, Visible(created), {});
    return;
  }
  runner_->Wake();
  RespondJson(writer, BatchJson(batch));
}

void BatchApi::ListBatches(const http::Request& request, http::ResponseWriter& writer) {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return;
  int limit = 20;
  if (std::string text = QueryParam(request.query, "limit"); !text.empty()) {
    if (!absl::SimpleAtoi(text, &limit) || limit < 1 || limit > 100) {
      RespondWithError(writer,
                       status::InvalidRequest("'limit' must be an integer from 1 to 100",
                                              "limit"),
                       {});
      return;
    }
  }
  // One more than asked says whether there are more.
  absl::StatusOr<std::vector<BatchRecord>> batches =
      store_->ListBatches(caller->tenant, QueryParam(request.query, "after"), limit + 1);
  if (!batches.ok()) {
    RespondWithError(writer, Visible(batches.status()), {});
    return;
  }
  bool has_more = static_cast<int>(batches->size()) > limit;
  if (has_more) batches->resize(static_cast<size_t>(limit));
  RespondJson(writer, BatchListJson(*batches, has_more));
}

void BatchApi::GetBatch(const http::Request& request, http::ResponseWriter& writer) {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return;
  std::string id = request.path.substr(kBatchesPrefix.size());
  absl::StatusOr<BatchRecord> batch = store_->GetBatch(caller->tenant, id);
  if (!batch.ok()) {
    RespondWithError(writer, NotFoundOf(batch.status(), "batch_id"), {});
    return;
  }
  RespondJson(writer, BatchJson(*batch));
}

void BatchApi::CancelBatch(const http::Request& request, http::ResponseWriter& writer) {
  std::optional<Caller> caller = AuthenticateOrRespond(*auth_, request, writer);
  if (!caller.has_value()) return;
  absl::string_view rest = absl::string_view(request.path).substr(kBatchesPrefix.size());
  if (!absl::ConsumeSuffix(&rest, "/cancel") || rest.empty() ||
      absl::StrContains(rest, '/')) {
    RespondWithError(writer, status::NotFound("Unknown request URL", ""), {});
    return;
  }
  absl::StatusOr<BatchRecord> batch =
      store_->RequestCancel(caller->tenant, std::string(rest), clock_->Now());
  if (!batch.ok()) {
    RespondWithError(writer, NotFoundOf(batch.status(), "batch_id"), {});
    return;
  }
  runner_->Wake();
  RespondJson(writer, BatchJson(*batch));
}

void BatchApi::MoveClock(const http::Request& request, http::ResponseWriter& writer) {
  if (absl::Status allowed = admin_->Authorize(request); !allowed.ok()) {
    RespondWithError(writer, allowed, {});
    return;
  }
  rapidjson::Document body;
  body.Parse(request.body.data(), request.body.size());
  if (body.HasParseError() || !body.IsObject()) {
    RespondWithError(writer, status::InvalidRequest("The body must be a JSON object."), {});
    return;
  }
  if (auto advance = body.FindMember("advance_seconds");
      advance != body.MemberEnd() && advance->value.IsNumber()) {
    manual_clock_->Advance(absl::Seconds(advance->value.GetDouble()));
  } else if (auto set = body.FindMember("unix_seconds");
             set != body.MemberEnd() && set->value.IsNumber()) {
    manual_clock_->Set(absl::FromUnixSeconds(static_cast<int64_t>(set->value.GetDouble())));
  } else {
    RespondWithError(writer,
                     status::InvalidRequest(
                         "Send {\"advance_seconds\": N} or {\"unix_seconds\": T}."),
                     {});
    return;
  }
  runner_->Wake();
  RespondJson(writer, absl::StrCat(R"({"now":)",
                                   absl::ToUnixSeconds(manual_clock_->Now()), "}"));
}

}  // namespace sluice::ingress
