// A multipart/form-data upload (POST /v1/files): the Content-Type header
// value is the input's first line, the body the rest.
#include <cstddef>
#include <cstdint>

#include "libs/http/multipart.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  auto [content_type, body] = fuzz::CutAtNewline(fuzz::AsText(data, size));
  absl::StatusOr<std::vector<http::FormPart>> parts =
      http::ParseMultipartForm(content_type, body);
  if (!parts.ok()) return 0;
  size_t bytes = 0;
  for (const http::FormPart& part : *parts) {
    if (part.name.empty()) fuzz::Fail("a part without a name");
    bytes += part.data.size();
  }
  if (bytes > body.size()) fuzz::Fail("parts hold more bytes than the body");
  return 0;
}
