#include "services/worker/llama_worker.h"

#include <climits>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/config/duration.h"
#include "libs/host/serializer.h"
#include "services/worker/prefix_chain.h"
#include "services/worker/text/reasoning_splitter.h"
#include "services/worker/text/stop_matcher.h"
#include "services/worker/text/utf8_joiner.h"
#include "spdlog/spdlog.h"

namespace sluice::worker {
namespace {

using sluice::v1::ChatChunk;

// The text of a message: its string, or its text parts joined.
std::string MessageText(const sluice::v1::Message& message) {
  if (!message.has_parts()) return message.text();
  std::string text;
  for (const auto& part : message.parts().parts()) {
    if (part.type() == "text") text += part.text();
  }
  return text;
}

absl::StatusOr<std::string> ApplyTemplate(
    const std::string& chat_template,
    const std::vector<std::pair<std::string, std::string>>& messages) {
  std::vector<llama_chat_message> chat;
  size_t bytes = 0;
  for (const auto& [role, text] : messages) {
    chat.push_back({role.c_str(), text.c_str()});
    bytes += role.size() + text.size();
  }
  std::string out(2 * bytes + 256, '\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    int32_t n = llama_chat_apply_template(
        chat_template.c_str(), chat.data(), chat.size(), /*add_ass=*/true,
        out.data(), static_cast<int32_t>(std::min<size_t>(out.size(), INT_MAX)));
    if (n < 0) {
      return absl::FailedPreconditionError(
          "llama.cpp does not know this model's chat template");
    }
    if (static_cast<size_t>(n) <= out.size()) {
      out.resize(static_cast<size_t>(n));
      return out;
    }
    out.resize(static_cast<size_t>(n));
  }
  return absl::InternalError("the chat template's output kept growing");
}

// One request's way from the engine's tokens to the caller's sink: text
// assembled from token pieces, stop strings, reasoning split, and flow
// control (the engine never waits: while the sink is full, chunks wait here;
// a request's chunks are bounded by its max_tokens).
class TokenStream final : public std::enable_shared_from_this<TokenStream> {
 public:
  TokenStream(host::Sink<ChatChunk>* sink, const llama_vocab* vocab,
              std::string id, std::string model, std::vector<std::string> stops,
              bool starts_in_reasoning, WorkerMetrics* metrics)
      : sink_(sink),
        vocab_(vocab),
        id_(std::move(id)),
        model_(std::move(model)),
        created_(absl::ToUnixSeconds(absl::Now())),
        stop_(std::move(stops)),
        reasoning_(starts_in_reasoning),
        metrics_(metrics),
        arrived_(absl::Now()) {}

  void Start() {
    std::weak_ptr<TokenStream> weak = weak_from_this();
    sink_->Start(std::make_shared<host::FunctionFlow>([weak] {
      if (auto self = weak.lock()) self->Resume();
    }));
    ChatChunk first = NewChunk();
    auto* delta = first.add_choices()->mutable_delta();
    delta->set_role("assistant");
    delta->set_text("");
    Emit(std::move(first));
  }

  // The engine's thread: the request got a slot (again, after a
  // preemption).
  void Started() {
    if (started_) return;
    started_ = true;
    metrics_->queue_time.Observe(absl::ToDoubleSeconds(absl::Now() - arrived_));
  }

  // The caller went away: a paused sink will never resume, so what waits
  // for it goes, and Done follows as soon as the engine has ended the job.
  void Abandon() {
    auto self = shared_from_this();
    serializer_.Run([self] {
      self->outbox_.clear();
      self->paused_ = false;
      self->Drain();
    });
  }

  // The engine's thread. False: a stop string ended the answer.
  bool Token(llama_token token) {
    absl::Time now = absl::Now();
    if (last_token_ == absl::InfinitePast()) {
      metrics_->time_to_first_token.Observe(
          absl::ToDoubleSeconds(now - arrived_));
    } else {
      metrics_->inter_token_latency.Observe(
          absl::ToDoubleSeconds(now - last_token_));
    }
    last_token_ = now;
    char buffer[256];
    int32_t n = llama_token_to_piece(vocab_, token, buffer, sizeof(buffer), 0,
                                     /*special=*/false);
    std::string piece = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
    StopMatcher::Result matched = stop_.Add(utf8_.Add(piece));
    Send(reasoning_.Add(matched.emit));
    stopped_ = matched.stopped;
    return !stopped_;
  }

  void Finish(GenerationResult result) {
    if (result.status.ok()) {
      if (!stopped_) {
        // No stop string matched: what was held back is answer text.
        StopMatcher::Result rest = stop_.Add(utf8_.Flush());
        Send(reasoning_.Add(rest.stopped ? rest.emit : rest.emit + stop_.Flush()));
      }
      Send(reasoning_.Flush());
      ChatChunk last = NewChunk();
      auto* choice = last.add_choices();
      choice->mutable_delta();
      choice->set_finish_reason(result.finish_reason);
      Emit(std::move(last));
      ChatChunk usage = NewChunk();
      auto* u = usage.mutable_usage();
      u->set_prompt_tokens(result.usage.prompt_tokens);
      u->set_completion_tokens(result.usage.completion_tokens);
      u->set_total_tokens(result.usage.prompt_tokens +
                          result.usage.completion_tokens);
      u->set_cached_tokens(result.usage.cached_tokens);
      Emit(std::move(usage));
      (result.finish_reason == "length" ? metrics_->requests_length
                                        : metrics_->requests_stop)
          .Increment();
    } else {
      metrics_->requests_abort.Increment();
    }
    metrics_->e2e_latency.Observe(absl::ToDoubleSeconds(absl::Now() - arrived_));
    metrics_->prompt_tokens.Increment(
        static_cast<double>(result.usage.prompt_tokens - result.usage.cached_tokens));
    metrics_->generation_tokens.Increment(
        static_cast<double>(result.usage.completion_tokens));
    metrics_->preemptions.Increment(result.preemptions);
    if (result.placed) {
      metrics_->prefix_cache_queries.Increment(
          static_cast<double>(result.usage.prompt_tokens));
      metrics_->prefix_cache_hits.Increment(
          static_cast<double>(result.usage.cached_tokens));
    }
    auto self = shared_from_this();
    serializer_.Run([self, status = std::move(result.status)]() mutable {
      self->done_ = std::move(status);
      // Alive until the sink has heard Done, however long it stays full
      // (the engine's job, which held this, is gone).
      self->keep_alive_ = self;
      self->Drain();
    });
  }

 private:
  ChatChunk NewChunk() const {
    ChatChunk chunk;
    chunk.set_id(id_);
    chunk.set_created(created_);
    chunk.set_model(model_);
    return chunk;
  }

  void Send(const ReasoningSplitter::Parts& parts) {
    if (parts.reasoning.empty() && parts.content.empty()) return;
    ChatChunk chunk = NewChunk();
    auto* delta = chunk.add_choices()->mutable_delta();
    if (!parts.reasoning.empty()) delta->set_reasoning_content(parts.reasoning);
    if (!parts.content.empty()) delta->set_text(parts.content);
    Emit(std::move(chunk));
  }

  void Emit(ChatChunk chunk) {
    auto self = shared_from_this();
    serializer_.Run([self, chunk = std::move(chunk)]() mutable {
      self->outbox_.push_back(std::move(chunk));
      self->Drain();
    });
  }

  void Resume() {
    auto self = shared_from_this();
    serializer_.Run([self] {
      self->paused_ = false;
      self->Drain();
    });
  }

  // Under the serializer.
  void Drain() {
    if (finished_) return;
    while (!paused_ && !outbox_.empty()) {
      ChatChunk next = std::move(outbox_.front());
      outbox_.pop_front();
      paused_ = !sink_->Next(std::move(next));
    }
    if (outbox_.empty() && done_.has_value()) {
      finished_ = true;
      sink_->Done(*std::move(done_));
      keep_alive_.reset();  // the serializer's closure still holds one
    }
  }

  host::Sink<ChatChunk>* const sink_;
  const llama_vocab* const vocab_;
  const std::string id_;
  const std::string model_;
  const int64_t created_;
  // The engine thread's.
  Utf8Joiner utf8_;
  StopMatcher stop_;
  ReasoningSplitter reasoning_;
  WorkerMetrics* const metrics_;
  const absl::Time arrived_;
  absl::Time last_token_ = absl::InfinitePast();
  bool stopped_ = false;
  // The serializer's.
  host::Serializer serializer_;
  std::deque<ChatChunk> outbox_;
  bool paused_ = false;
  std::optional<absl::Status> done_;
  bool finished_ = false;
  std::shared_ptr<TokenStream> keep_alive_;
  bool started_ = false;  // the engine's thread
};

}  // namespace

absl::StatusOr<std::unique_ptr<LlamaWorker>> LlamaWorker::Create(
    const sluice::v1::WorkerConfig& config, obs::MetricsRegistry& metrics) {
  EngineOptions options;
  options.model_path = config.model_path();
  if (config.slots() > 0) options.slots = config.slots();
  if (config.slot_context() > 0) options.slot_context = config.slot_context();
  if (config.step_tokens() > 0) options.step_tokens = config.step_tokens();
  options.cache_slots = config.cache_slots();
  options.step_target = config::DurationOr(config.step_target(), absl::ZeroDuration());
  options.threads = config.threads() > 0
                        ? config.threads()
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.gpu_layers = config.gpu_layers();
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(options);
  if (!engine.ok()) return engine.status();
  // The model's own template when llama.cpp knows it, else ChatML.
  const char* from_model = llama_model_chat_template((*engine)->model(), nullptr);
  std::string chat_template = from_model != nullptr ? from_model : "chatml";
  if (!ApplyTemplate(chat_template, {{"user", "hi"}}).ok()) {
    spdlog::warn("worker: llama.cpp does not know the chat template of {}; "
                 "using chatml",
                 config.model_path());
    chat_template = "chatml";
  }
  std::string name = config.model_name().empty() ? "local" : config.model_name();
  int max_tokens = config.default_max_tokens() > 0 ? config.default_max_tokens() : 256;
  return std::unique_ptr<LlamaWorker>(new LlamaWorker(
      *std::move(engine), std::move(name), std::move(chat_template), max_tokens,
      metrics));
}

LlamaWorker::LlamaWorker(std::unique_ptr<Engine> engine, std::string model_name,
                         std::string chat_template, int default_max_tokens,
                         obs::MetricsRegistry& metrics)
    : engine_(std::move(engine)),
      model_name_(std::move(model_name)),
      chat_template_(std::move(chat_template)),
      default_max_tokens_(default_max_tokens),
      metrics_(metrics, model_name_),
      slot_prefixes_(engine_->streams()) {}

LlamaWorker::~LlamaWorker() {
  // The engine's last callbacks use the members below it.
  engine_->Stop();
}

absl::StatusOr<std::string> LlamaWorker::RenderPrompt(
    const sluice::v1::ChatRequest& request) const {
  if (request.messages_size() == 0) {
    return absl::InvalidArgumentError("messages must not be empty");
  }
  std::vector<std::pair<std::string, std::string>> messages;
  for (const auto& message : request.messages()) {
    messages.emplace_back(message.role(), MessageText(message));
  }
  return ApplyTemplate(chat_template_, messages);
}

absl::StatusOr<std::vector<llama_token>> LlamaWorker::TokenizeText(
    absl::string_view text, bool special) const {
  if (text.size() > INT_MAX / 2) {
    return absl::InvalidArgumentError("the text is too long");
  }
  std::vector<llama_token> tokens(text.size() + 8);
  int32_t n = llama_tokenize(engine_->vocab(), text.data(),
                             static_cast<int32_t>(text.size()), tokens.data(),
                             static_cast<int32_t>(tokens.size()), special, special);
  if (n < 0) return absl::InternalError("tokenization failed");
  tokens.resize(static_cast<size_t>(n));
  return tokens;
}

void LlamaWorker::Generate(host::CallContextPtr context,
                           sluice::v1::ChatRequest request,
                           host::Sink<ChatChunk>* sink) {
  if (!request.model().empty() && request.model() != model_name_) {
    sink->Done(absl::NotFoundError(absl::StrCat(
        "model '", request.model(), "' is not served here (this worker serves '",
        model_name_, "')")));
    return;
  }
  absl::StatusOr<std::string> prompt = RenderPrompt(request);
  if (!prompt.ok()) {
    sink->Done(prompt.status());
    return;
  }
  absl::StatusOr<std::vector<llama_token>> tokens = TokenizeText(*prompt, true);
  if (!tokens.ok()) {
    sink->Done(tokens.status());
    return;
  }
  absl::StatusOr<SamplingParams> sampling = SamplingFromRequest(
      request, llama_vocab_n_tokens(engine_->vocab()), default_max_tokens_);
  if (!sampling.ok()) {
    sink->Done(sampling.status());
    return;
  }
  std::vector<uint64_t> chain;
  for (const PrefixLink& link : PrefixChain(request)) chain.push_back(link.hash);
  // A reasoning template opens the assistant's turn inside <think>.
  absl::string_view tail = absl::StripTrailingAsciiWhitespace(*prompt);
  bool starts_in_reasoning = absl::EndsWith(tail, "<think>");
  std::string id = absl::StrCat(
      "chatcmpl-", request.context().request_id().empty()
                       ? context->request_id()
                       : request.context().request_id());
  auto stream = std::make_shared<TokenStream>(
      sink, engine_->vocab(), std::move(id), model_name_, sampling->stops,
      starts_in_reasoning, &metrics_);
  stream->Start();

  GenerationRequest job;
  job.prompt = *std::move(tokens);
  job.sampling = *std::move(sampling);
  job.interactive = !request.context().batch() && !context->caller().batch;
  job.deadline = context->deadline();
  job.on_start = [this, stream, chain = std::move(chain)](int slot) mutable {
    stream->Started();
    HoldPrefixes(slot, std::move(chain));
  };
  job.on_token = [stream](llama_token token) { return stream->Token(token); };
  job.on_done = [this, stream](GenerationResult result) {
    PublishLoad();  // before the caller hears the end
    stream->Finish(std::move(result));
  };
  Engine::HandlePtr handle = engine_->Submit(std::move(job));
  context->OnCancel([handle, weak = std::weak_ptr<TokenStream>(stream)] {
    handle->Cancel();
    if (auto alive = weak.lock()) alive->Abandon();
  });
  PublishLoad();
}

void LlamaWorker::Tokenize(host::CallContextPtr,
                           sluice::v1::TokenizeRequest request,
                           host::Callback<sluice::v1::TokenizeResponse> done) {
  absl::StatusOr<std::vector<llama_token>> tokens =
      TokenizeText(request.text(), /*special=*/false);
  if (!tokens.ok()) {
    std::move(done)(tokens.status());
    return;
  }
  sluice::v1::TokenizeResponse response;
  response.mutable_tokens()->Add(tokens->begin(), tokens->end());
  std::move(done)(std::move(response));
}

void LlamaWorker::Info(host::CallContextPtr,
                       host::Callback<sluice::v1::WorkerInfo> done) {
  EngineStats stats = engine_->Stats();
  sluice::v1::WorkerInfo info;
  info.set_model(model_name_);
  info.set_slot_context(stats.slot_context);
  info.set_slots(stats.slots);
  info.set_cache_slots(engine_->options().cache_slots);
  info.set_running(stats.running);
  info.set_waiting(stats.waiting);
  info.set_kv_used(stats.kv_used);
  info.set_kv_total(stats.kv_total);
  info.set_n_params(static_cast<int64_t>(llama_model_n_params(engine_->model())));
  {
    absl::MutexLock lock(&mu_);
    for (const auto& chain : slot_prefixes_) {
      for (uint64_t hash : chain) info.add_prefix_hashes(hash);
      if (!chain.empty()) info.set_cached_prompts(info.cached_prompts() + 1);
    }
  }
  std::move(done)(std::move(info));
}

void LlamaWorker::HoldPrefixes(int slot, std::vector<uint64_t> chain) {
  absl::MutexLock lock(&mu_);
  slot_prefixes_[slot] = std::move(chain);
}

void LlamaWorker::PublishLoad() {
  EngineStats stats = engine_->Stats();
  metrics_.requests_running.Set(stats.running);
  metrics_.requests_waiting.Set(stats.waiting);
  metrics_.kv_cache_usage.Set(
      stats.kv_total > 0 ? static_cast<double>(stats.kv_used) /
                               static_cast<double>(stats.kv_total)
                         : 0.0);
}

}  // namespace sluice::worker
