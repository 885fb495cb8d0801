// An OpenAI-compatible upstream's answer: its event stream read in splits
// of any size, each event's data a chunk (or [DONE]), and the same bytes as
// a whole answer and as an error answer.
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "libs/codec/openai_codec.h"
#include "libs/http/sse_parser.h"
#include "libs/status/errors.h"
#include "libs/upstream/http_client.h"
#include "services/adapters/upstream_error.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  if (size == 0) return 0;
  absl::string_view body = fuzz::AsText(data + 1, size - 1);
  size_t events = 0, bytes = 0;
  http::SseParser parser([&](const http::SseParser::Event& event) {
    ++events;
    bytes += event.data.size();
    if (event.data.size() > body.size()) {
      fuzz::Fail("an event's data is longer than the whole stream");
    }
    if (event.data == "[DONE]") return;
    (void)codec::ParseChatChunk(event.data);
  });
  for (absl::string_view read : fuzz::SplitIntoReads(body, data[0])) {
    parser.Feed(read);
  }
  (void)codec::ParseChatResponse(body);
  upstream::HttpResponseHead head;
  head.status = 400 + data[0] % 200;
  head.headers = {{"retry-after", "1"}, {"content-type", "application/json"}};
  absl::Status error =
      adapters::UpstreamHttpError("fuzz", head, body, absl::UnixEpoch());
  // The error crosses gRPC between processes: its fields must be UTF-8, or
  // it does not parse there (whatever bytes the upstream sent).
  sluice::v1::Error parsed;
  if (!parsed.ParseFromString(
          status::ErrorFromStatus(error).SerializeAsString())) {
    fuzz::Fail("an upstream error does not parse once serialized");
  }
  return 0;
}
