// A prompt's prefixes at message boundaries, as chained hashes: entry k
// covers messages [0, k]. Workers publish the chains of the prompts their
// slots cached; a router finds the worker holding the longest prefix of a
// new request by looking its chain up there. Stable across processes and
// builds (FNV-1a), so that any router reads any worker.
#pragma once

#include <cstdint>
#include <vector>

#include "sluice/v1/chat.pb.h"

namespace sluice::worker {

struct PrefixLink {
  uint64_t hash = 0;
  // Bytes of message text through this message.
  int64_t bytes = 0;
};

std::vector<PrefixLink> PrefixChain(const sluice::v1::ChatRequest& request);

}  // namespace sluice::worker
