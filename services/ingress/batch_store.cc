// What every batch store shares: object ids.
#include "services/ingress/batch_store.h"

#include "absl/strings/str_format.h"
#include "libs/obs/trace_context.h"

namespace sluice::ingress {

std::string NewObjectId(absl::string_view prefix) {
  obs::RandomSource& random = obs::ThreadLocalRandom();
  return absl::StrFormat("%s%016x%08x", prefix, random.Next(),
                         static_cast<uint32_t>(random.Next()));
}

}  // namespace sluice::ingress
