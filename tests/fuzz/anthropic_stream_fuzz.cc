// Anthropic's Messages API answers: an event stream (split anywhere) through
// the decoder that makes OpenAI chunks, a whole message, and error bodies.
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "libs/http/sse_parser.h"
#include "libs/upstream/http_client.h"
#include "services/adapters/anthropic_error.h"
#include "services/adapters/anthropic_response.h"
#include "services/adapters/anthropic_stream.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  if (size == 0) return 0;
  absl::string_view body = fuzz::AsText(data + 1, size - 1);
  size_t chunks = 0;
  adapters::AnthropicStreamDecoder decoder(
      "fuzz", "fuzz/route", absl::UnixEpoch(),
      [&](v1::ChatChunk chunk) {
        ++chunks;
        if (chunk.route() != "fuzz/route") fuzz::Fail("a chunk lost its route");
      });
  http::SseParser parser([&](const http::SseParser::Event& event) {
    decoder.OnEvent(event);
    if (event.event == "error") (void)adapters::AnthropicStreamError("fuzz", event.data);
  });
  for (absl::string_view read : fuzz::SplitIntoReads(body, data[0])) {
    parser.Feed(read);
  }
  absl::Status end = decoder.EndStatus();
  if (decoder.done() && !decoder.failed() && !end.ok()) {
    fuzz::Fail("a stream that stopped cleanly ends with an error");
  }
  (void)adapters::ParseAnthropicMessage(body, absl::UnixEpoch());
  upstream::HttpResponseHead head;
  head.status = 400 + data[0] % 200;
  (void)adapters::AnthropicHttpError("fuzz", head, body, absl::UnixEpoch());
  return 0;
}
