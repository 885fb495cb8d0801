// Routes and the chat handler of the upstream simulator; see simulator.h.
#include "tools/upstream-sim/simulator.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "rapidjson/document.h"
#include "tools/upstream-sim/answer.h"
#include "tools/upstream-sim/anthropic_encoder.h"
#include "tools/upstream-sim/controls.h"
#include "tools/upstream-sim/json.h"
#include "tools/upstream-sim/openai_encoder.h"
#include "tools/upstream-sim/script.h"

namespace sluice::sim {
namespace {

constexpr absl::string_view kModels[] = {"deepseek-chat", "deepseek-reasoner",
                                         "gpt-4o-mini", "claude-sonnet-4-5"};

http::Headers JsonHeaders() { return {{"content-type", "application/json"}}; }

std::string ModelList() {
  return ToJson([](JsonWriter& w) {
    w.StartObject();
    w.Key("object");
    w.String("list");
    w.Key("data");
    w.StartArray();
    for (absl::string_view model : kModels) {
      w.StartObject();
      w.Key("id");
      WriteString(w, model);
      w.Key("object");
      w.String("model");
      w.Key("created");
      w.Int64(kCreated);
      w.Key("owned_by");
      w.String("upstream-sim");
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  });
}

// An error in the provider's shape: the HTTP status, OpenAI's type and code,
// Anthropic's type.
struct ErrorKind {
  int status;
  absl::string_view openai_type;
  absl::string_view openai_code;
  absl::string_view anthropic_type;
};

constexpr ErrorKind kBadRequest = {400, "invalid_request_error", "",
                                   "invalid_request_error"};
constexpr ErrorKind kBadKey = {401, "invalid_request_error", "invalid_api_key",
                               "authentication_error"};
constexpr ErrorKind kRateLimited = {429, "rate_limit_error",
                                    "rate_limit_exceeded", "rate_limit_error"};

ErrorKind ServerError(Fault fault) {
  switch (fault) {
    case Fault::k503:
      return {503, "server_error", "", "overloaded_error"};
    case Fault::k529:
      return {529, "server_error", "", "overloaded_error"};
    default:
      return {500, "server_error", "", "api_error"};
  }
}

bool Authorized(const http::Request& request, Api api, const std::string& key) {
  if (api == Api::kAnthropic) return request.Header("x-api-key") == key;
  return request.Header("authorization") == absl::StrCat("Bearer ", key);
}

// The key a request sent (x-api-key, or the Bearer token).
absl::string_view SentKey(const http::Request& request) {
  absl::string_view key = request.Header("x-api-key");
  absl::string_view auth = request.Header("authorization");
  if (key.empty() && absl::ConsumePrefix(&auth, "Bearer ")) key = auth;
  return key;
}

// The last 4 characters of the key a request sent: enough for tests to tell
// keys apart, never the whole secret.
std::string KeySuffix(const http::Request& request) {
  absl::string_view key = SentKey(request);
  return std::string(key.substr(key.size() - std::min<size_t>(key.size(), 4)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Start(
    const SimulatorOptions& options) {
  std::unique_ptr<Simulator> sim(new Simulator(options));
  sim->AddRoutes();
  http::ServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.threads = options.threads;
  Simulator* self = sim.get();
  absl::StatusOr<http::ServerPtr> server = http::StartServer(
      server_options, [self](http::Request request, http::ResponseWriterPtr w) {
        self->routes_.Dispatch(std::move(request), std::move(w));
      });
  if (!server.ok()) return server.status();
  sim->server_ = *std::move(server);
  return sim;
}

Simulator::Simulator(const SimulatorOptions& options)
    : options_(options), faults_(options.fault) {}

Simulator::~Simulator() { Shutdown(); }

void Simulator::Shutdown() {
  if (server_ != nullptr) server_->Shutdown();
  player_.Stop();
}

void Simulator::Reset() {
  faults_.Clear();
  stats_.Clear();
  absl::MutexLock lock(&mu_);
  seen_prompts_.clear();
  arrivals_.clear();
}

bool Simulator::SeenPrompt(const std::string& key) {
  absl::MutexLock lock(&mu_);
  return !seen_prompts_.insert(key).second;
}

void Simulator::AddRoutes() {
  routes_.Add("POST", "/v1/chat/completions",
              [this](http::Request request, http::ResponseWriterPtr writer) {
                Chat(request, std::move(writer), Api::kOpenAI);
              });
  routes_.Add("POST", "/v1/messages",
              [this](http::Request request, http::ResponseWriterPtr writer) {
                Chat(request, std::move(writer), Api::kAnthropic);
              });
  routes_.Add("GET", "/v1/models",
              [](http::Request, http::ResponseWriterPtr writer) {
                writer->Respond(200, JsonHeaders(), ModelList());
              });
  routes_.Add("GET", "/sim/stats",
              [this](http::Request, http::ResponseWriterPtr writer) {
                writer->Respond(200, JsonHeaders(), StatsToJson(stats()));
              });
  routes_.Add("POST", "/sim/reset",
              [this](http::Request, http::ResponseWriterPtr writer) {
                Reset();
                writer->Respond(200, JsonHeaders(), "{}");
              });
  routes_.Add("POST", "/sim/faults",
              [this](http::Request request, http::ResponseWriterPtr writer) {
                QueueFaults(request, *writer);
              });
}

void Simulator::QueueFaults(const http::Request& request,
                            http::ResponseWriter& writer) {
  rapidjson::Document body;
  body.Parse(request.body.data(), request.body.size());
  std::optional<Fault> fault;
  int count = 1;
  std::optional<int> after;
  if (!body.HasParseError() && body.IsObject()) {
    auto name = body.FindMember("fault");
    if (name != body.MemberEnd() && name->value.IsString()) {
      fault = ParseFault(name->value.GetString());
    }
    auto n = body.FindMember("count");
    if (n != body.MemberEnd())
      count = n->value.IsInt() ? n->value.GetInt() : -1;
    auto a = body.FindMember("after");
    if (a != body.MemberEnd()) after = a->value.IsInt() ? a->value.GetInt() : -1;
  }
  if (!fault.has_value() || count < 0 || count > 100000 ||
      (after.has_value() && *after < 0)) {
    writer.Respond(400, JsonHeaders(),
                   OpenAIError("invalid_request_error",
                               "expected {\"fault\":NAME,\"count\":N,"
                               "\"after\":TOKENS}",
                               ""));
    return;
  }
  faults_.Queue(*fault, count, after);
  writer.Respond(200, JsonHeaders(), absl::StrCat(R"({"queued":)", count, "}"));
}

void Simulator::Chat(const http::Request& request,
                     http::ResponseWriterPtr writer, Api api) {
  Arrival arrival;
  arrival.ms = stats_.NowMs();
  arrival.path = request.path;
  arrival.key = KeySuffix(request);
  arrival.fault = std::string(FaultName(Fault::kNone));
  auto fail = [&](const ErrorKind& kind, absl::string_view message,
                  http::Headers headers = JsonHeaders()) {
    writer->Respond(
        kind.status, std::move(headers),
        api == Api::kAnthropic
            ? AnthropicError(kind.anthropic_type, message)
            : OpenAIError(kind.openai_type, message, kind.openai_code));
    arrival.status = kind.status;
    stats_.Record(std::move(arrival), 0, 0);
  };

  absl::StatusOr<ChatRequest> parsed = ParseChatRequest(request.body, api);
  if (parsed.ok()) {
    arrival.model = parsed->model;
    arrival.stream = parsed->stream;
  }
  if (!options_.required_api_key.empty() &&
      !Authorized(request, api, options_.required_api_key)) {
    return fail(kBadKey, "Incorrect API key provided.");
  }
  if (!parsed.ok()) return fail(kBadRequest, parsed.status().message());
  absl::string_view prompt;
  for (const Message& message : parsed->messages) {
    if (message.role == "user") prompt = message.text;
  }
  absl::StatusOr<RequestControls> controls =
      ReadControls(request, prompt, options_.ttft, options_.per_token);
  if (!controls.ok()) return fail(kBadRequest, controls.status().message());
  Answer answer = MakeAnswer(*parsed);
  arrival.prompt_key = answer.prompt_key;
  int arrivals = CountArrival(answer.prompt_key);
  Fault fault;
  if (controls->fault.has_value()) {
    fault =
        controls->fault_times.has_value() && arrivals > *controls->fault_times
            ? Fault::kNone
            : *controls->fault;
  } else {
    PlannedFault planned = faults_.Take();
    fault = planned.fault;
    if (planned.after_tokens.has_value()) {
      controls->fault_after_tokens = *planned.after_tokens;
    }
  }
  arrival.fault = std::string(FaultName(fault));

  switch (fault) {
    case Fault::k429: {
      http::Headers headers = JsonHeaders();
      headers.emplace_back("retry-after",
                           std::to_string(controls->retry_after_seconds));
      return fail(kRateLimited, "Rate limit reached (simulated).",
                  std::move(headers));
    }
    case Fault::k500:
    case Fault::k503:
    case Fault::k529:
      return fail(ServerError(fault), "Upstream failure (simulated).");
    case Fault::kEchoKey:
      return fail(
          kBadKey,
          absl::StrCat("Incorrect API key provided: ", SentKey(request), "."));
    case Fault::kReset:
      writer->Abort();
      stats_.Record(std::move(arrival), 0, 0);
      return;
    default:
      break;
  }

  if (options_.fill_to_max_tokens && parsed->max_tokens.has_value()) {
    FillAnswer(*parsed->max_tokens, answer);
  }
  if (fault == Fault::kTruncate) {
    CapAnswer(
        std::min<int64_t>(controls->fault_after_tokens,
                          std::max<int64_t>(answer.completion_tokens() - 1, 0)),
        answer);
  }
  Usage usage;
  usage.prompt_tokens = answer.prompt_tokens;
  usage.cache_hit_tokens =
      SeenPrompt(answer.prompt_key) ? answer.prompt_tokens : 0;
  usage.reasoning_tokens = answer.reasoning_tokens();
  usage.completion_tokens = answer.completion_tokens();
  usage.details = options_.usage_details;
  arrival.prompt_tokens = usage.prompt_tokens;
  arrival.cache_hit_tokens = usage.cache_hit_tokens;
  arrival.completion_tokens = usage.completion_tokens;
  arrival.reasoning_tokens = usage.reasoning_tokens;

  if (parsed->stream) {
    ScriptBuilder script(*controls, fault,
                         api == Api::kAnthropic ? AnthropicMalformedEvent()
                                                : OpenAIMalformedEvent());
    if (api == Api::kAnthropic) {
      EncodeAnthropicStream(*parsed, answer, script);
    } else {
      EncodeOpenAIStream(*parsed, answer, usage, script);
    }
    arrival.status = 200;
    size_t index =
        stats_.Record(std::move(arrival), usage.prompt_tokens, script.tokens());
    player_.Play(script.Take(), std::move(writer),
                 [this, index](const Step& step) {
                   stats_.Sent(index, step.carries == Step::Carries::kReasoning,
                               step.carries == Step::Carries::kContent,
                               step.carries == Step::Carries::kAnswerEnd,
                               step.carries == Step::Carries::kMalformed);
                 });
    return;
  }

  // A plain response: a stall never answers, a cut drops the connection.
  if (fault == Fault::kStall || fault == Fault::kCut) {
    if (fault == Fault::kCut) writer->Abort();
    stats_.Record(std::move(arrival), 0, 0);
    return;
  }
  std::string body = api == Api::kAnthropic
                         ? AnthropicMessage(*parsed, answer)
                         : OpenAICompletion(*parsed, answer, usage);
  if (fault == Fault::kMalformed) body.resize(body.size() / 2);
  body.insert(0, std::string(controls->keepalives, '\n'));
  arrival.status = 200;
  size_t index = stats_.Record(std::move(arrival), usage.prompt_tokens,
                               usage.completion_tokens);
  absl::Duration delay =
      controls->ttft + controls->per_token *
                           std::max<int64_t>(answer.completion_tokens() - 1, 0);
  // A body cut in half carries nothing a client can read.
  bool whole = fault != Fault::kMalformed;
  player_.After(delay, [this, index, whole, usage, writer = std::move(writer),
                        body = std::move(body)]() mutable {
    if (writer->ClientGone()) return;
    // Recorded before the answer leaves: a client that has read it and
    // then asks /sim/stats must find it counted.
    if (whole) {
      stats_.Sent(index, usage.reasoning_tokens,
                  usage.completion_tokens - usage.reasoning_tokens, true);
    }
    writer->Respond(200, JsonHeaders(), std::move(body));
  });
}

int Simulator::CountArrival(const std::string& prompt_key) {
  absl::MutexLock lock(&mu_);
  return ++arrivals_[prompt_key];
}

}  // namespace sluice::sim
