// The Scheduler component: every upstream call passes through it on its way
// from the router to the adapters (and the worker). It exposes the
// Adapters interface, so the router calls it exactly as it would call the
// adapters; behind it, one queue per target (a provider's key pool) starts
// calls as that provider's limits allow, interactive before batch, fair
// across tenants by tokens.
#pragma once

namespace sluice::scheduler {

inline constexpr char kServiceName[] = "scheduler";

}  // namespace sluice::scheduler
