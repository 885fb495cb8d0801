// An async job line from Kafka (OpenAI's batch input line), and the result
// and dead-letter lines made from it: always one JSON object each.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>

#include "services/ingress/job_line.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

bool IsJsonObject(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  return !doc.HasParseError() && doc.IsObject();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  absl::string_view input = fuzz::AsText(data, size);
  if (!IsJsonObject(ingress::JobDeadLetterLine(input, "fuzz", 3))) {
    fuzz::Fail("a dead-letter line is not a JSON object");
  }
  absl::StatusOr<ingress::JobLine> line = ingress::ParseJobLine(input);
  if (!line.ok()) return 0;
  if (line->custom_id.empty()) fuzz::Fail("a job line without custom_id");
  if (!IsJsonObject(ingress::JobResultLine("req-1", line->custom_id, 200,
                                           line->body))) {
    fuzz::Fail("a result line is not a JSON object");
  }
  if (!IsJsonObject(ingress::JobErrorLine(line->custom_id, "expired", "x"))) {
    fuzz::Fail("an error line is not a JSON object");
  }
  return 0;
}
