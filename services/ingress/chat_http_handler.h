// POST /v1/chat/completions: OpenAI's API over HTTP into the edge pipeline
// (chat_edge.h), answered as one JSON body or as server-sent events.
#pragma once

#include "libs/host/call_tracker.h"
#include "libs/http/server.h"
#include "services/ingress/chat_edge.h"
#include "services/ingress/usage_reporter.h"

namespace sluice::ingress {

class ChatHttpHandler {
 public:
  // Both must outlive the handler.
  ChatHttpHandler(ChatEdge* edge, UsageReporter* usage)
      : edge_(edge), usage_(usage) {}

  void Handle(http::Request request, http::ResponseWriterPtr writer);

 private:
  ChatEdge* edge_;
  UsageReporter* usage_;
};

}  // namespace sluice::ingress
