// The whole answer a stream of chunks amounts to: deltas joined per choice,
// tool calls merged by index, the last finish_reason and usage. Used where
// a streamed source must answer a unary call (the worker adapter) and where
// a streamed answer is kept whole (the cache).
#pragma once

#include <map>
#include <vector>

#include "sluice/v1/chat.pb.h"

namespace sluice::codec {

class ChunkAssembler {
 public:
  void Add(const sluice::v1::ChatChunk& chunk);
  // The answer so far; choices in index order.
  sluice::v1::ChatResponse Response() const;

 private:
  sluice::v1::ChatResponse head_;  // id, created, model, usage, route
  std::map<int, sluice::v1::Choice> choices_;
};

// The chunks a streamed answer would have had: a role chunk, the reasoning,
// the content, the tool calls, a finish chunk per choice and a usage chunk
// (for replaying an answer that was stored from a unary call).
std::vector<sluice::v1::ChatChunk> ChunksOf(
    const sluice::v1::ChatResponse& response);

}  // namespace sluice::codec
