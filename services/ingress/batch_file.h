// A Batch API input file (JSONL, one job line per line) read and checked
// line by line, as OpenAI validates a batch before running it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sluice::ingress {

// One entry of a failed batch's `errors`.
struct BatchLineError {
  std::string code;
  std::string message;
  std::string param;  // may be empty
  int64_t line = 0;
};

// A line that can run.
struct BatchLine {
  int64_t line_no = 0;  // 1-based, as in the input file
  std::string custom_id;
  std::string body;  // the request, as JSON text
};

struct BatchFile {
  std::vector<BatchLine> lines;
  // At most `max_errors` (the first ones, by line). A file with any error
  // runs none of its lines.
  std::vector<BatchLineError> errors;
  // The models the lines ask for.
  std::set<std::string> models;
  int64_t line_count = 0;
};

// "\n" or "\r\n" ends a line; a blank last line is no line. Each line must
// be a job line (job_line.h) with a custom_id unique in the file and a
// non-streamed chat request body that passes ValidateChatRequest. An empty
// file is an "empty_file" error.
BatchFile ParseBatchFile(absl::string_view content, size_t max_errors);

}  // namespace sluice::ingress
