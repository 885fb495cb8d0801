#include "tools/upstream-sim/simulator.h"

#include <boost/asio/steady_timer.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/upstream-sim/formats.h"
#include "tools/upstream-sim/sim_answer.h"

namespace sluice::sim {
namespace {

// One step of a streamed answer: bytes to write after a delay. An empty
// step with `end` closes the stream; `stall` stops without closing.
struct Step {
  absl::Duration delay;
  std::string bytes;
  bool end = false;
  bool stall = false;
};

int HeaderInt(const http::Request& request, absl::string_view name, int fallback) {
  int value = 0;
  return absl::SimpleAtoi(request.Header(name), &value) ? value : fallback;
}

std::string Sse(const std::string& data) { return absl::StrCat("data: ", data, "\n\n"); }

void RunSteps(std::shared_ptr<std::vector<Step>> steps, size_t i,
              http::ResponseWriterPtr writer,
              const std::function<void(absl::Duration, std::function<void()>)>& after) {
  if (i >= steps->size() || writer->ClientGone()) return;
  const Step& step = (*steps)[i];
  after(step.delay, [steps, i, writer, after] {
    const Step& s = (*steps)[i];
    if (s.stall) return;  // silence until the client goes
    if (!s.bytes.empty()) writer->WriteRaw(s.bytes);
    if (s.end) {
      writer->EndStream();
      return;
    }
    RunSteps(steps, i + 1, writer, after);
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Start(
    const SimulatorOptions& options) {
  std::unique_ptr<Simulator> sim(new Simulator(options));
  Simulator* self = sim.get();
  self->paths_.Add("POST", "/v1/chat/completions",
                   [self](http::Request r, http::ResponseWriterPtr w) {
                     self->Chat(r, std::move(w), /*anthropic=*/false);
                   });
  self->paths_.Add("POST", "/v1/messages",
                   [self](http::Request r, http::ResponseWriterPtr w) {
                     self->Chat(r, std::move(w), /*anthropic=*/true);
                   });
  self->paths_.Add("GET", "/v1/models", [](http::Request, http::ResponseWriterPtr w) {
    w->Respond(200, {{"content-type", "application/json"}},
               R"({"object":"list","data":[{"id":"deepseek-chat","object":"model"},)"
               R"({"id":"deepseek-reasoner","object":"model"},)"
               R"({"id":"gpt-4o-mini","object":"model"}]})");
  });
  self->paths_.Add("GET", "/sim/stats", [self](http::Request, http::ResponseWriterPtr w) {
    w->Respond(200, {{"content-type", "application/json"}}, self->StatsJson());
  });
  self->paths_.Add("POST", "/sim/reset", [self](http::Request, http::ResponseWriterPtr w) {
    {
      absl::MutexLock lock(&self->mu_);
      self->queued_faults_.clear();
      self->seen_prompts_.clear();
      self->requests_ = self->prompt_tokens_ = self->completion_tokens_ = 0;
      self->by_status_.clear();
      self->arrivals_.clear();
    }
    w->Respond(200, {{"content-type", "application/json"}}, "{}");
  });
  self->paths_.Add("POST", "/sim/faults", [self](http::Request r, http::ResponseWriterPtr w) {
    self->Faults(r, *w);
  });
  http::ServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.threads = 2;
  absl::StatusOr<http::ServerPtr> server = http::StartServer(
      server_options, [self](http::Request r, http::ResponseWriterPtr w) {
        self->paths_.Dispatch(std::move(r), std::move(w));
      });
  if (!server.ok()) return server.status();
  sim->server_ = *std::move(server);
  return sim;
}

Simulator::Simulator(const SimulatorOptions& options)
    : options_(options),
      started_(absl::Now()),
      work_(boost::asio::make_work_guard(timers_)),
      timer_thread_([this] { timers_.run(); }) {}

Simulator::~Simulator() { Shutdown(); }

void Simulator::Shutdown() {
  if (server_ != nullptr) server_->Shutdown();
  work_.reset();
  timers_.stop();
  if (timer_thread_.joinable()) timer_thread_.join();
}

void Simulator::After(absl::Duration delay, std::function<void()> fn) {
  if (delay <= absl::ZeroDuration()) {
    fn();
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(
      timers_, absl::ToChronoMilliseconds(delay));
  timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
    if (!ec) fn();
  });
}

void Simulator::Count(int status, int64_t prompt, int64_t completion) {
  absl::MutexLock lock(&mu_);
  ++by_status_[status];
  prompt_tokens_ += prompt;
  completion_tokens_ += completion;
}

std::string Simulator::TakeFault(const http::Request& request) {
  std::string fault(request.Header("x-sim-fault"));
  absl::MutexLock lock(&mu_);
  if (fault.empty() && !queued_faults_.empty()) {
    fault = queued_faults_.front();
    queued_faults_.pop_front();
  }
  return fault;
}

void Simulator::Faults(const http::Request& request, http::ResponseWriter& writer) {
  rapidjson::Document body;
  body.Parse(request.body.c_str());
  if (body.HasParseError() || !body.IsObject() || !body.HasMember("fault") ||
      !body["fault"].IsString()) {
    writer.Respond(400, {{"content-type", "application/json"}},
                   OpenAIError("invalid_request_error", "expected {\"fault\":...}", ""));
    return;
  }
  int count = body.HasMember("count") && body["count"].IsInt() ? body["count"].GetInt() : 1;
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < count; ++i) queued_faults_.push_back(body["fault"].GetString());
  writer.Respond(200, {{"content-type", "application/json"}}, "{}");
}

void Simulator::Chat(const http::Request& request, http::ResponseWriterPtr writer,
                     bool anthropic) {
  http::Headers json = {{"content-type", "application/json"}};
  auto error = [&](int status, const std::string& type, const std::string& message,
                   http::Headers extra = {}) {
    for (auto& h : json) extra.push_back(h);
    writer->Respond(status, std::move(extra),
                    anthropic ? AnthropicError(type, message)
                              : OpenAIError(type, message, ""));
    Count(status, 0, 0);
  };
  rapidjson::Document body;
  body.Parse(request.body.c_str());
  std::string model = !body.HasParseError() && body.IsObject() &&
                              body.HasMember("model") && body["model"].IsString()
                          ? body["model"].GetString()
                          : "";
  std::string fault = TakeFault(request);
  {
    absl::MutexLock lock(&mu_);
    ++requests_;
    arrivals_.push_back({absl::ToInt64Milliseconds(absl::Now() - started_), model, fault});
  }
  if (!options_.required_api_key.empty()) {
    std::string expected = anthropic ? options_.required_api_key
                                     : "Bearer " + options_.required_api_key;
    if (request.Header(anthropic ? "x-api-key" : "authorization") != expected) {
      return error(401, anthropic ? "authentication_error" : "invalid_request_error",
                   "Incorrect API key provided.");
    }
  }
  if (body.HasParseError() || !body.IsObject() || model.empty()) {
    return error(400, "invalid_request_error", "model and messages are required");
  }
  if (fault == "429") {
    return error(429, "rate_limit_error", "Rate limit reached (simulated).",
                 {{"retry-after", std::to_string(HeaderInt(request, "x-sim-retry-after", 1))}});
  }
  if (fault == "500" || fault == "503") {
    return error(std::stoi(fault), anthropic ? "api_error" : "server_error",
                 "Upstream failure (simulated).");
  }

  SimAnswer answer = MakeAnswer(body, anthropic);
  Usage usage;
  usage.prompt = answer.prompt_tokens;
  usage.reasoning = static_cast<int64_t>(answer.reasoning.size());
  usage.completion = answer.completion_tokens();
  {
    absl::MutexLock lock(&mu_);
    if (!seen_prompts_.insert(answer.prompt_key).second) usage.cache_hit = usage.prompt;
  }
  bool stream = body.HasMember("stream") && body["stream"].IsBool() && body["stream"].GetBool();
  absl::Duration ttft = absl::Milliseconds(HeaderInt(request, "x-sim-ttft-ms", options_.ttft_ms));
  absl::Duration per_token =
      absl::Milliseconds(HeaderInt(request, "x-sim-token-ms", options_.token_ms));
  if (fault == "truncate") {
    answer.pieces.resize(std::min<size_t>(2, answer.pieces.size()));
    answer.finish_reason = "length";
    usage.completion = answer.completion_tokens();
  }
  Count(200, usage.prompt, usage.completion);

  if (!stream) {
    After(ttft + per_token * static_cast<double>(answer.completion_tokens()),
          [writer, json, anthropic, model, answer, usage] {
            writer->Respond(200, json,
                            anthropic ? AnthropicResponse(model, answer)
                                      : OpenAIResponse(model, answer, usage));
          });
    return;
  }

  auto steps = std::make_shared<std::vector<Step>>();
  for (int i = 0, n = HeaderInt(request, "x-sim-keepalive", 0); i < n; ++i) {
    steps->push_back({absl::ZeroDuration(), ": keep-alive\n\n"});
  }
  bool cut = fault == "cut", stall = fault == "stall", malformed = fault == "malformed";
  size_t emitted = 0;
  auto token_step = [&](std::string bytes) {
    steps->push_back({emitted == 0 ? ttft : per_token, std::move(bytes)});
    ++emitted;
    if ((stall || cut) && emitted == 2) {
      steps->push_back({per_token, "", /*end=*/cut, /*stall=*/stall});
      return false;
    }
    if (malformed && emitted == 2) steps->push_back({per_token, "data: {not json\n\n"});
    return true;
  };
  bool go_on = true;
  if (anthropic) {
    steps->push_back({absl::ZeroDuration(),
                      AnthropicEvent("message_start",
                                     absl::StrCat(R"({"type":"message_start","message":{"id":"msg_)",
                                                  answer.id_hex, R"(","type":"message","role":"assistant","model":")",
                                                  model, R"(","content":[],"stop_reason":null,"usage":{"input_tokens":)",
                                                  answer.prompt_tokens, R"(,"output_tokens":0}}})"))});
    steps->push_back({absl::ZeroDuration(),
                      AnthropicEvent("content_block_start",
                                     R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})")});
    steps->push_back({absl::ZeroDuration(), AnthropicEvent("ping", R"({"type":"ping"})")});
    for (const auto& piece : answer.pieces) {
      rapidjson::StringBuffer b;
      rapidjson::Writer<rapidjson::StringBuffer> w(b);
      w.String(piece.c_str());
      go_on = token_step(AnthropicEvent(
          "content_block_delta",
          absl::StrCat(R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":)",
                       b.GetString(), "}}")));
      if (!go_on) break;
    }
    if (go_on) {
      steps->push_back({absl::ZeroDuration(),
                        AnthropicEvent("content_block_stop", R"({"type":"content_block_stop","index":0})")});
      steps->push_back({absl::ZeroDuration(),
                        AnthropicEvent("message_delta",
                                       absl::StrCat(R"({"type":"message_delta","delta":{"stop_reason":")",
                                                    answer.finish_reason == "length" ? "max_tokens" : "end_turn",
                                                    R"(","stop_sequence":null},"usage":{"output_tokens":)",
                                                    answer.completion_tokens(), "}}"))});
      steps->push_back({absl::ZeroDuration(),
                        AnthropicEvent("message_stop", R"({"type":"message_stop"})"), /*end=*/true});
    }
  } else {
    bool include_usage = body.HasMember("stream_options") && body["stream_options"].IsObject() &&
                         body["stream_options"].HasMember("include_usage") &&
                         body["stream_options"]["include_usage"].IsBool() &&
                         body["stream_options"]["include_usage"].GetBool();
    steps->push_back({absl::ZeroDuration(),
                      Sse(OpenAIChunk(model, answer, R"({"role":"assistant","content":""})", "",
                                      include_usage))});
    for (const auto& piece : answer.reasoning) {
      if (!(go_on = token_step(Sse(OpenAIChunk(model, answer, ReasoningDelta(piece), "",
                                                include_usage))))) {
        break;
      }
    }
    for (size_t i = 0; go_on && i < answer.pieces.size(); ++i) {
      go_on = token_step(
          Sse(OpenAIChunk(model, answer, ContentDelta(answer.pieces[i]), "", include_usage)));
    }
    if (go_on) {
      steps->push_back({absl::ZeroDuration(),
                        Sse(OpenAIChunk(model, answer, "{}", answer.finish_reason, include_usage))});
      if (include_usage) {
        steps->push_back({absl::ZeroDuration(), Sse(OpenAIUsageChunk(model, answer, usage))});
      }
      steps->push_back({absl::ZeroDuration(), "data: [DONE]\n\n", /*end=*/true});
    }
  }
  writer->StartStream(200, {{"content-type", "text/event-stream"},
                            {"cache-control", "no-cache"}});
  RunSteps(steps, 0, writer, [this](absl::Duration d, std::function<void()> fn) {
    After(d, std::move(fn));
  });
}

std::string Simulator::StatsJson() const {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  absl::MutexLock lock(&mu_);
  w.StartObject();
  w.Key("requests");
  w.Int64(requests_);
  w.Key("by_status");
  w.StartObject();
  for (const auto& [status, count] : by_status_) {
    w.Key(std::to_string(status).c_str());
    w.Int64(count);
  }
  w.EndObject();
  w.Key("prompt_tokens");
  w.Int64(prompt_tokens_);
  w.Key("completion_tokens");
  w.Int64(completion_tokens_);
  w.Key("arrivals");
  w.StartArray();
  for (const auto& a : arrivals_) {
    w.StartObject();
    w.Key("ms");
    w.Int64(a.ms);
    w.Key("model");
    w.String(a.model.c_str());
    w.Key("fault");
    w.String(a.fault.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

}  // namespace sluice::sim
