// A client's chat request body (HTTP): ParseChatRequest and the rules
// ingress applies next. What parses must survive being written for an
// upstream and read again.
#include <cstddef>
#include <cstdint>

#include "libs/codec/openai_codec.h"
#include "services/ingress/chat_request_rules.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  absl::StatusOr<v1::ChatRequest> request =
      codec::ParseChatRequest(fuzz::AsText(data, size));
  if (!request.ok()) return 0;
  (void)ingress::ValidateChatRequest(*request);
  std::string upstream = codec::WriteChatRequest(*request, "upstream-model");
  if (!codec::ParseChatRequest(upstream).ok()) {
    fuzz::Fail("a parsed request, written for an upstream, does not parse");
  }
  return 0;
}
