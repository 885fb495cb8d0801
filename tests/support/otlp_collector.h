// A small OpenTelemetry collector for tests: an HTTP server on loopback
// that takes OTLP/HTTP JSON (POST /v1/traces), answers 200 and records the
// spans it received, flattened.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/http/server.h"

namespace sluice::testing {

struct ReceivedSpan {
  std::string service;  // the resource's service.name
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;
  std::string name;
  int kind = 0;
  std::string start;  // startTimeUnixNano, as sent (a decimal string)
  std::string end;
  int status_code = 0;
  // String and int attributes, as text.
  std::vector<std::pair<std::string, std::string>> attributes;

  std::string Attribute(const std::string& key) const;
};

class OtlpCollector {
 public:
  static absl::StatusOr<std::unique_ptr<OtlpCollector>> Start();

  // http://127.0.0.1:<port> (what tracing.otlp_endpoint takes).
  std::string endpoint() const;
  std::vector<ReceivedSpan> spans() const;
  // Requests that were not a well-formed OTLP JSON POST to /v1/traces.
  int malformed() const;
  // Every request body received, as sent, one per line (whatever a test
  // looks for in what left the gateway).
  std::string bodies() const;
  // Waits until some span satisfies `match`, up to `timeout`.
  bool WaitFor(const std::function<bool(const ReceivedSpan&)>& match,
               absl::Duration timeout) const;

 private:
  OtlpCollector() = default;
  void Receive(const http::Request& request, http::ResponseWriter& writer);

  http::ServerPtr server_;
  mutable absl::Mutex mu_;
  std::vector<ReceivedSpan> spans_ ABSL_GUARDED_BY(mu_);
  int malformed_ ABSL_GUARDED_BY(mu_) = 0;
  std::string bodies_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::testing
