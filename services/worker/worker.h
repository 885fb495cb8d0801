// The Worker component: self-hosted inference on llama.cpp.
// Adapters reach it like any provider, co-hosted or remote.
#pragma once

#include "libs/host/call_context.h"
#include "libs/host/sink.h"
#include "sluice/v1/worker.pb.h"

namespace sluice::worker {

inline constexpr char kServiceName[] = "worker";

class Worker {
 public:
  virtual ~Worker() = default;
  // Streams the answer to `request` (its model is the worker's model name).
  virtual void Generate(host::CallContextPtr context,
                        sluice::v1::ChatRequest request,
                        host::Sink<sluice::v1::ChatChunk>* sink) = 0;
  virtual void Tokenize(host::CallContextPtr context,
                        sluice::v1::TokenizeRequest request,
                        host::Callback<sluice::v1::TokenizeResponse> done) = 0;
  // Model, capacity, load and the prompt prefixes its slots hold.
  virtual void Info(host::CallContextPtr context,
                    host::Callback<sluice::v1::WorkerInfo> done) = 0;
};

}  // namespace sluice::worker
