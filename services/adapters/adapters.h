// The Adapters component: one call to a provider (OpenAI-compatible,
// Anthropic, our worker), the answer in our protos. Co-hosted callers hold
// the implementation (adapters_impl.h), others a gRPC client
// (adapters_client.h); both behave the same.
#pragma once

#include "libs/host/call_context.h"
#include "libs/host/sink.h"
#include "sluice/v1/adapter.pb.h"

namespace sluice::adapters {

inline constexpr char kServiceName[] = "adapters";

class Adapters {
 public:
  virtual ~Adapters() = default;
  virtual void Complete(host::CallContextPtr context,
                        sluice::v1::AdapterRequest request,
                        host::Callback<sluice::v1::ChatResponse> done) = 0;
  // `sink` must stay alive until its Done().
  virtual void StreamComplete(host::CallContextPtr context,
                              sluice::v1::AdapterRequest request,
                              host::Sink<sluice::v1::ChatChunk>* sink) = 0;
};

}  // namespace sluice::adapters
