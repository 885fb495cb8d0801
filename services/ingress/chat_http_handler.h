// POST /v1/chat/completions: OpenAI's API over HTTP, answered through the
// Router service, as one JSON body or as server-sent events.
#pragma once

#include "libs/host/service_host.h"
#include "libs/http/server.h"
#include "services/ingress/chat_admission.h"
#include "services/ingress/request_record.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/router.grpc.pb.h"

namespace sluice::ingress {

class ChatHttpHandler {
 public:
  // `admission` must outlive the handler.
  ChatHttpHandler(ChatAdmission* admission, host::ChannelProvider* channels,
                  UsageReporter* usage)
      : admission_(admission), router_(channels, "router"), usage_(usage) {}

  void Handle(http::Request request, http::ResponseWriterPtr writer);

 private:
  // An admitted request, to the router.
  void Route(RequestRecordPtr record, http::ResponseWriterPtr writer,
             std::shared_ptr<sluice::v1::ChatRequest> request);

  ChatAdmission* admission_;
  host::LazyStub<sluice::v1::Router> router_;
  UsageReporter* usage_;
};

}  // namespace sluice::ingress
