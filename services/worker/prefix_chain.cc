#include "services/worker/prefix_chain.h"

#include <string_view>

namespace sluice::worker {
namespace {

constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t Mix(uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= kFnvPrime;
  }
  // A separator no text can forge: the length, then a fixed byte.
  for (size_t n = bytes.size(), i = 0; i < 8; ++i, n >>= 8) {
    hash ^= (n & 0xff);
    hash *= kFnvPrime;
  }
  return hash;
}

}  // namespace

std::vector<PrefixLink> PrefixChain(const sluice::v1::ChatRequest& request) {
  std::vector<PrefixLink> chain;
  chain.reserve(request.messages_size());
  uint64_t hash = 0xcbf29ce484222325ULL;
  int64_t bytes = 0;
  for (const sluice::v1::Message& message : request.messages()) {
    hash = Mix(hash, message.role());
    if (message.has_parts()) {
      for (const auto& part : message.parts().parts()) {
        hash = Mix(hash, part.text());
        bytes += static_cast<int64_t>(part.text().size());
      }
    } else {
      hash = Mix(hash, message.text());
      bytes += static_cast<int64_t>(message.text().size());
    }
    chain.push_back({hash, bytes});
  }
  return chain;
}

}  // namespace sluice::worker
