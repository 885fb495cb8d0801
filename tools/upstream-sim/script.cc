// Building stream scripts; see script.h.
#include "tools/upstream-sim/script.h"

#include <utility>

namespace sluice::sim {

ScriptBuilder::ScriptBuilder(const RequestControls& controls, Fault fault,
                             std::string malformed_event)
    : controls_(controls),
      fault_(fault),
      malformed_event_(std::move(malformed_event)) {
  // Keep-alive comments share the time to first token evenly with it.
  absl::Duration slice = controls_.ttft / (controls_.keepalives + 1);
  for (int i = 0; i < controls_.keepalives; ++i) {
    script_.push_back({slice, Step::Action::kWrite, ": keep-alive\n\n"});
  }
  pending_delay_ = slice;
}

void ScriptBuilder::Add(Step::Action action, std::string bytes,
                        Step::Carries carries) {
  script_.push_back({pending_delay_, action, std::move(bytes), carries});
  pending_delay_ = absl::ZeroDuration();
}

void ScriptBuilder::Frame(std::string bytes) {
  if (stopped_) return;
  Add(Step::Action::kWrite, std::move(bytes));
}

bool ScriptBuilder::StopNow() {
  if (stopped_) return true;
  if (fault_ == Fault::kMalformed && !malformed_written_) {
    pending_delay_ += controls_.per_token;
    Add(Step::Action::kWrite, malformed_event_, Step::Carries::kMalformed);
    malformed_written_ = true;
  }
  if (fault_ == Fault::kStall || fault_ == Fault::kCut) {
    pending_delay_ += controls_.per_token;
    Add(fault_ == Fault::kStall ? Step::Action::kStall : Step::Action::kEnd,
        "");
    stopped_ = true;
  }
  return stopped_;
}

bool ScriptBuilder::FaultDue() {
  return tokens_ >= controls_.fault_after_tokens && StopNow();
}

bool ScriptBuilder::Token(std::string bytes, Step::Carries carries) {
  if (stopped_ || FaultDue()) return false;
  if (tokens_ > 0) pending_delay_ += controls_.per_token;
  Add(Step::Action::kWrite, std::move(bytes), carries);
  ++tokens_;
  return !FaultDue();
}

void ScriptBuilder::Finish(std::vector<std::string> closing) {
  if (StopNow()) return;
  for (std::string& bytes : closing)
    Add(Step::Action::kWrite, std::move(bytes));
  Add(Step::Action::kEnd, "", Step::Carries::kAnswerEnd);
}

}  // namespace sluice::sim
