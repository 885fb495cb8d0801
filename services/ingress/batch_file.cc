#include "services/ingress/batch_file.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/codec/openai_codec.h"
#include "services/ingress/chat_request_rules.h"
#include "services/ingress/job_line.h"

namespace sluice::ingress {
namespace {

std::vector<absl::string_view> SplitLines(absl::string_view content) {
  std::vector<absl::string_view> lines = absl::StrSplit(content, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (absl::string_view& line : lines) absl::ConsumeSuffix(&line, "\r");
  return lines;
}

}  // namespace

BatchFile ParseBatchFile(absl::string_view content, size_t max_errors) {
  BatchFile file;
  absl::flat_hash_set<std::string> custom_ids;
  for (absl::string_view text : SplitLines(content)) {
    const int64_t line_no = ++file.line_count;
    auto add_error = [&](std::string code, std::string message,
                         std::string param) {
      if (file.errors.size() < max_errors) {
        file.errors.push_back(
            {std::move(code), std::move(message), std::move(param), line_no});
      }
    };
    absl::StatusOr<JobLine> line = ParseJobLine(text);
    if (!line.ok()) {
      add_error("invalid_request", std::string(line.status().message()), "");
      continue;
    }
    if (!custom_ids.insert(line->custom_id).second) {
      add_error("duplicate_custom_id",
                absl::StrCat("The custom_id \"", line->custom_id,
                             "\" appears more than once in this file."),
                "custom_id");
      continue;
    }
    absl::StatusOr<sluice::v1::ChatRequest> request =
        codec::ParseChatRequest(line->body);
    absl::Status valid =
        request.ok() ? ValidateChatRequest(*request) : request.status();
    if (valid.ok() && request->stream()) {
      valid = absl::InvalidArgumentError("batch requests cannot be streamed");
    }
    if (!valid.ok()) {
      add_error("invalid_request", std::string(valid.message()), "body");
      continue;
    }
    file.models.insert(request->model());
    file.lines.push_back(
        {line_no, std::move(line->custom_id), std::move(line->body)});
  }
  if (file.line_count == 0) {
    file.errors.push_back({"empty_file", "The input file has no requests.",
                           "input_file_id", 0});
  }
  return file;
}

}  // namespace sluice::ingress
