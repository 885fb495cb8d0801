// A Batch API input file (JSONL): every line runs or is an error, never
// both, and custom_ids of lines that run are unique.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "services/ingress/batch_file.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  ingress::BatchFile file = ingress::ParseBatchFile(
      fuzz::AsText(data, size), /*max_errors=*/1u << 20);
  std::set<std::string> ids;
  std::set<int64_t> lines;
  for (const ingress::BatchLine& line : file.lines) {
    if (!ids.insert(line.custom_id).second) fuzz::Fail("a duplicate custom_id runs");
    lines.insert(line.line_no);
  }
  for (const ingress::BatchLineError& error : file.errors) {
    if (lines.count(error.line) != 0) fuzz::Fail("a line both runs and failed");
  }
  if (file.line_count == 0 && file.errors.empty()) {
    fuzz::Fail("an empty file without its error");
  }
  if (static_cast<int64_t>(file.lines.size()) > file.line_count) {
    fuzz::Fail("more lines run than the file has");
  }
  return 0;
}
