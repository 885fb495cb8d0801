// A chat request as the gRPC Gateway receives it (protobuf wire format):
// CheckChatRequest and the ingress rules, then the upstream body it makes.
#include <cstddef>
#include <cstdint>

#include "libs/codec/openai_codec.h"
#include "services/ingress/chat_request_rules.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  v1::ChatRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::StatusOr<v1::ChatRequest> checked = codec::CheckChatRequest(request);
  if (!checked.ok()) return 0;
  (void)ingress::ValidateChatRequest(*checked);
  std::string upstream = codec::WriteChatRequest(*checked, "upstream-model");
  if (!codec::ParseChatRequest(upstream).ok()) {
    fuzz::Fail("a checked request, written for an upstream, does not parse");
  }
  return 0;
}
