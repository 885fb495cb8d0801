// The two Lua scripts of the Redis limiter. Keys, per subject id, under the
// limiter's prefix P:
//   P<id>:<window index>  hash {r, t}: requests and tokens charged in that
//                         fixed window; expires two windows after it ends
//   P<id>:budget          micro-dollars spent (no expiry: it is the ledger)
//   Pseq:<id>             reservation <id> (JSON; the id is the caller's),
//                         expires after the ttl
#pragma once

namespace sluice::ratelimit {

// KEYS: Pseq, then P<id> per subject.
// ARGV: window_ms, reservation_ttl_ms, requests, tokens, micro_usd, then
//       rpm, tpm, budget per subject, then the reservation's id.
// Returns {admitted, reservation, denied subject index (1-based, 0 none),
//          denied limit, retry_after_ms, limit_r, remaining_r, reset_r_ms,
//          limit_t, remaining_t, reset_t_ms}.
extern const char kReserveScript[];

// KEYS: Pseq:<n>.  ARGV: requests, tokens, micro_usd (actual).
// Returns 1, or 0 when the reservation is unknown.
extern const char kSettleScript[];

// KEYS: P<id>:budget.  ARGV: micro_usd. Raises the ledger to at least it.
extern const char kRaiseSpentScript[];
// KEYS: the ledgers' marker, then budget keys; ARGV: their spends. Raises
// each ledger like kRaiseSpentScript, then sets the marker.
extern const char kRestoreLedgersScript[];

}  // namespace sluice::ratelimit
