// A streamed answer as a timed script: the bytes to write and when, with the
// stream faults (stall, cut, malformed) and keep-alive comments worked in.
// Encoders build scripts; ScriptPlayer plays them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tools/upstream-sim/controls.h"

namespace sluice::sim {

struct Step {
  enum class Action {
    kWrite,  // write `bytes`
    kEnd,    // end the chunked body
    kStall,  // stop writing, leave the stream open
  };
  // What a step delivers, for the stats of what was sent.
  enum class Carries {
    kFrame,      // no token
    kReasoning,  // one reasoning token
    kContent,    // one content token
    kMalformed,  // the malformed event: nothing after it is readable
    kAnswerEnd,  // the end of a whole answer, its usage included
  };
  absl::Duration delay;  // after the previous step
  Action action = Action::kWrite;
  std::string bytes;
  Carries carries = Carries::kFrame;
};

using Script = std::vector<Step>;

class ScriptBuilder {
 public:
  // `malformed_event` is what the malformed fault writes (an invalid event in
  // the API's framing).
  ScriptBuilder(const RequestControls& controls, Fault fault,
                std::string malformed_event);

  // An event that carries no token (role chunk, content_block_start, ...).
  // The first step of the script waits for the time to first token.
  void Frame(std::string bytes);
  // An event carrying one token: waits per_token after the previous token.
  // Returns false once a fault has ended the stream: add nothing more but
  // still call Finish().
  bool Token(std::string bytes,
             Step::Carries carries = Step::Carries::kContent);
  // The closing events, then the end of the body; a stall or cut that the
  // tokens did not reach yet happens here instead.
  void Finish(std::vector<std::string> closing);

  int64_t tokens() const { return tokens_; }  // tokens written
  Script Take() { return std::move(script_); }

 private:
  void Add(Step::Action action, std::string bytes,
           Step::Carries carries = Step::Carries::kFrame);
  // Applies the fault now (malformed event, stall, cut): true if the stream
  // is over.
  bool StopNow();
  // StopNow() once fault_after_tokens tokens are written.
  bool FaultDue();

  const RequestControls controls_;
  const Fault fault_;
  const std::string malformed_event_;
  absl::Duration pending_delay_;  // for the next step
  int64_t tokens_ = 0;
  bool malformed_written_ = false;
  bool stopped_ = false;
  Script script_;
};

}  // namespace sluice::sim
