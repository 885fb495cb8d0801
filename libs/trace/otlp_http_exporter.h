// Sends spans to an OpenTelemetry collector over OTLP/HTTP with the JSON
// encoding: POST <endpoint>/v1/traces (an endpoint that already ends in
// /v1/traces is used as it is). Each export waits at most `timeout`. Errors
// never name the URL (it may carry credentials).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/trace/tracer.h"

namespace sluice::trace {

class OtlpHttpExporter final : public SpanExporter {
 public:
  static absl::StatusOr<std::unique_ptr<OtlpHttpExporter>> Create(
      const std::string& endpoint, absl::Duration timeout = absl::Seconds(5));
  ~OtlpHttpExporter() override;

  absl::Status Export(sluice::v1::SpanBatch batch) override;
  const char* name() const override { return "otlp"; }

 private:
  OtlpHttpExporter(std::string url, absl::Duration timeout, void* curl)
      : url_(std::move(url)), timeout_(timeout), curl_(curl) {}

  const std::string url_;
  const absl::Duration timeout_;
  void* curl_;  // CURL*, reused so the connection stays open
};

}  // namespace sluice::trace
