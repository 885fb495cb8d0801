#include "services/worker/engine/engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sluice::worker {

struct Engine::Job {
  GenerationRequest request;
  HandlePtr handle;
  SamplerPtr sampler;
  // The prompt, then every token sampled so far. The KV of a slot running
  // this job holds tokens[0, n_past); the rest are decoded next.
  std::vector<llama_token> tokens;
  int n_prompt = 0;
  int n_generated = 0;
  int64_t cached_tokens = 0;
  int preemptions = 0;
  bool started = false;  // placed at least once
};

struct Engine::Slot {
  std::unique_ptr<Job> job;
  // What this slot's KV holds: tokens[0, n_past) of its job while it runs,
  // and of its last job after (for the prefix cache).
  std::vector<llama_token> cached;
  int n_past = 0;
  // Where this step's logits of this slot lie in the batch; -1: none.
  int logits_at = -1;
  absl::Time last_used = absl::InfinitePast();
  // Following: the slot waits until `leader` (while it still runs
  // `leader_job`) has read `follow_until` tokens of the prompt they share.
  int leader = -1;
  const Job* leader_job = nullptr;
  size_t follow_until = 0;
};

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(
    const EngineOptions& options) {
  if (options.slots < 1 || options.slots > 256) {
    return absl::InvalidArgumentError("worker slots must lie in [1, 256]");
  }
  if (options.cache_slots < 0 || options.slots + options.cache_slots > 256) {
    return absl::InvalidArgumentError(
        "worker cache_slots must be at least 0, and slots + cache_slots at most 256");
  }
  if (options.slot_context < 16 || options.step_tokens < 1) {
    return absl::InvalidArgumentError(
        "worker slot_context must be at least 16 and step_tokens at least 1");
  }
  InitLlamaOnce();
  llama_model_params model_params = llama_model_default_params();
  model_params.n_gpu_layers = options.gpu_layers;
  ModelPtr model(
      llama_model_load_from_file(options.model_path.c_str(), model_params));
  if (model == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load the model ", options.model_path));
  }
  llama_context_params params = llama_context_default_params();
  const int streams = options.slots + options.cache_slots;
  params.n_seq_max = static_cast<uint32_t>(streams);
  params.n_ctx = static_cast<uint32_t>(streams * options.slot_context);
  params.n_batch = static_cast<uint32_t>(std::max(options.step_tokens, options.slots));
  params.n_ubatch = params.n_batch;
  params.n_threads = options.threads;
  params.n_threads_batch = options.threads;
  // One KV stream per slot: a sequence's attention sees only its own cells,
  // so what it computes does not depend on who else is in the batch.
  params.kv_unified = false;
  params.no_perf = true;
  ContextPtr context(llama_init_from_model(model.get(), params));
  if (context == nullptr) {
    return absl::ResourceExhaustedError(
        "cannot create the llama.cpp context (not enough memory for the KV "
        "cache of slots x slot_context?)");
  }
  return std::unique_ptr<Engine>(
      new Engine(options, std::move(model), std::move(context)));
}

Engine::Engine(EngineOptions options, ModelPtr model, ContextPtr context)
    : options_(std::move(options)),
      model_(std::move(model)),
      context_(std::move(context)),
      vocab_(llama_model_get_vocab(model_.get())),
      batch_(llama_batch_init(std::max(options_.step_tokens, options_.slots), 0,
                              1)),
      slot_kv_(streams(), 0),
      slot_cached_(streams(), 0),
      slots_(streams()) {
  thread_ = std::thread([this] { Loop(); });
}

Engine::~Engine() {
  Stop();
  llama_batch_free(batch_);
}

void Engine::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

Engine::HandlePtr Engine::Submit(GenerationRequest request) {
  auto handle = std::make_shared<Handle>();
  const int n_prompt = static_cast<int>(request.prompt.size());
  if (n_prompt == 0 || n_prompt >= options_.slot_context) {
    GenerationResult result;
    result.status = absl::InvalidArgumentError(absl::StrCat(
        "the prompt has ", n_prompt, " tokens; this worker's context holds ",
        options_.slot_context, " per sequence"));
    request.on_done(std::move(result));
    return handle;
  }
  auto job = std::make_unique<Job>();
  job->tokens = request.prompt;
  job->n_prompt = n_prompt;
  job->sampler = MakeSampler(request.sampling, llama_vocab_n_tokens(vocab_));
  job->request = std::move(request);
  job->handle = handle;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      (job->request.interactive ? interactive_queue_ : batch_queue_)
          .push_back(std::move(job));
      wake_.Signal();
      return handle;
    }
  }
  // Outside the lock: callbacks may ask for Stats().
  EndQueued(std::move(job), absl::UnavailableError("the worker is stopping"));
  return handle;
}

EngineStats Engine::Stats() const {
  absl::MutexLock lock(&mu_);
  EngineStats stats;
  stats.slots = options_.slots;
  stats.slot_context = options_.slot_context;
  stats.running = running_;
  stats.waiting = static_cast<int>(interactive_queue_.size() + batch_queue_.size());
  for (int kv : slot_kv_) stats.kv_used += kv;
  stats.kv_total = static_cast<int64_t>(options_.slots) * options_.slot_context;
  stats.slot_cached_tokens = slot_cached_;
  return stats;
}

void Engine::Loop() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        if (stopping_ || !interactive_queue_.empty() || !batch_queue_.empty()) {
          return true;
        }
        for (const Slot& slot : slots_) {
          if (slot.job != nullptr) return true;
        }
        return false;
      };
      while (!has_work()) wake_.Wait(&mu_);
      if (stopping_) break;
    }
    Admit();
    if (!Step()) PublishSlots();  // what Admit ended shows
  }
  FailAll(absl::UnavailableError("the worker is stopping"));
}

namespace {

// A prefix shorter than this is decoded again rather than copied from
// another slot (a copy moves the slot's whole KV buffer).
constexpr size_t kMinCopiedPrefix = 64;

size_t CommonPrefix(const std::vector<llama_token>& a,
                    const std::vector<llama_token>& b) {
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

void Engine::Admit() {
  // Cancelled and late jobs leave their slots first.
  const absl::Time now = absl::Now();
  for (int i = 0; i < streams(); ++i) {
    if (slots_[i].job == nullptr) continue;
    if (slots_[i].job->handle->cancelled()) {
      Finish(i, absl::CancelledError("the request was cancelled"), "");
    } else if (slots_[i].job->request.deadline < now) {
      Finish(i, absl::DeadlineExceededError("the request ran past its deadline"),
             "");
    }
  }
  for (;;) {
    std::vector<std::unique_ptr<Job>> cancelled;
    std::unique_ptr<Job> job;
    int victim = -1;
    {
      absl::MutexLock lock(&mu_);
      for (auto* queue : {&interactive_queue_, &batch_queue_}) {
        for (auto it = queue->begin(); it != queue->end();) {
          if ((*it)->handle->cancelled() || (*it)->request.deadline < now) {
            cancelled.push_back(std::move(*it));
            it = queue->erase(it);
          } else {
            ++it;
          }
        }
      }
      // At most `slots` jobs run; the other streams only cache.
      const auto running = std::count_if(
          slots_.begin(), slots_.end(), [](const Slot& s) { return s.job != nullptr; });
      const bool has_free = running < options_.slots;
      if (!interactive_queue_.empty()) {
        if (!has_free) {
          // An interactive request waits: take the slot of the batch job
          // with the least KV to rebuild.
          for (int i = 0; i < streams(); ++i) {
            const Job* job_there = slots_[i].job.get();
            if (job_there != nullptr && !job_there->request.interactive &&
                (victim < 0 || slots_[i].n_past < slots_[victim].n_past)) {
              victim = i;
            }
          }
        }
        if (has_free || victim >= 0) {
          job = std::move(interactive_queue_.front());
          interactive_queue_.pop_front();
        }
      } else if (!batch_queue_.empty() && has_free) {
        job = std::move(batch_queue_.front());
        batch_queue_.pop_front();
      }
    }
    for (auto& gone : cancelled) {
      absl::Status why =
          gone->handle->cancelled()
              ? absl::CancelledError("the request was cancelled")
              : absl::DeadlineExceededError("the request ran past its deadline");
      EndQueued(std::move(gone), std::move(why));
    }
    if (job == nullptr) return;
    if (victim >= 0) Preempt(victim);
    // The free slot whose cache this prompt mostly continues (at least half
    // of the prompt or of the cache); else an empty slot, else the one used
    // least recently. A short common header (a template's first tokens)
    // must not evict another prompt's cache.
    int best = -1;
    size_t best_prefix = 0;
    for (int i = 0; i < streams(); ++i) {
      if (slots_[i].job != nullptr) continue;
      size_t prefix = CommonPrefix(slots_[i].cached, job->tokens);
      bool continues = prefix > 0 && (2 * prefix >= job->tokens.size() ||
                                      2 * prefix >= slots_[i].cached.size());
      if (continues && prefix > best_prefix) {
        best = i;
        best_prefix = prefix;
      }
    }
    for (int i = 0; best < 0 && i < streams(); ++i) {
      if (slots_[i].job == nullptr && slots_[i].cached.empty()) best = i;
    }
    for (int i = 0; i < streams() && best_prefix == 0; ++i) {
      if (slots_[i].job != nullptr || slots_[i].cached.empty()) continue;
      if (best < 0 || (!slots_[best].cached.empty() &&
                       slots_[i].last_used < slots_[best].last_used)) {
        best = i;
      }
    }
    // A running slot still reading a prompt that shares much more with this
    // one than any cache does: wait for it and copy, rather than read the
    // same tokens twice in parallel.
    const bool first_placement = !job->started;
    int leader = -1;
    size_t lead = best_prefix + kMinCopiedPrefix;
    for (int i = 0; first_placement && i < streams(); ++i) {
      const Job* running = slots_[i].job.get();
      if (running == nullptr || slots_[i].leader >= 0) continue;
      // (Its prompt only: what it generates is no one else's prefix.)
      const size_t n = std::min<size_t>(running->n_prompt, job->tokens.size() - 1);
      const size_t shared = static_cast<size_t>(
          std::mismatch(running->tokens.begin(), running->tokens.begin() + n,
                        job->tokens.begin())
              .first -
          running->tokens.begin());
      if (static_cast<size_t>(slots_[i].n_past) < shared && shared >= lead) {
        leader = i;
        lead = shared;
      }
    }
    // Another slot (a running one, say) may hold much more of this prompt:
    // copy its KV over rather than decode that prefix again (llama.cpp
    // copies the whole stream before the next decode; the tail goes).
    int donor = -1;
    size_t donor_prefix = best_prefix;
    for (int i = 0; leader < 0 && i < streams(); ++i) {
      if (i == best) continue;
      size_t prefix = CommonPrefix(slots_[i].cached, job->tokens);
      if (prefix >= donor_prefix + kMinCopiedPrefix && prefix > donor_prefix) {
        donor = i;
        donor_prefix = prefix;
      }
    }
    if (donor >= 0) CopyPrefix(donor, best);
    Place(std::move(job), best);
    if (leader >= 0) Follow(best, leader, lead);
  }
}

void Engine::CopyPrefix(int from, int to) {
  llama_memory_seq_cp(llama_get_memory(context_.get()), from, to, -1, -1);
  slots_[to].cached = slots_[from].cached;
  ++counters_.prefix_copies;
}

void Engine::Follow(int index, int leader, size_t until) {
  Slot& slot = slots_[index];
  slot.leader = leader;
  slot.leader_job = slots_[leader].job.get();
  slot.follow_until = until;
  ++counters_.prefix_follows;
}

void Engine::CatchUpFollowers() {
  llama_memory_t memory = llama_get_memory(context_.get());
  for (int i = 0; i < streams(); ++i) {
    Slot& slot = slots_[i];
    if (slot.job == nullptr || slot.leader < 0) continue;
    const Slot& leader = slots_[slot.leader];
    if (leader.job.get() == slot.leader_job &&
        static_cast<size_t>(leader.n_past) < slot.follow_until) {
      continue;  // still reading
    }
    // Done, or gone (finished, preempted): take what its KV holds.
    Job& job = *slot.job;
    size_t prefix =
        std::min(CommonPrefix(leader.cached, job.tokens), job.tokens.size() - 1);
    if (prefix > static_cast<size_t>(slot.n_past)) {
      CopyPrefix(slot.leader, i);
      llama_memory_seq_rm(memory, i, static_cast<llama_pos>(prefix), -1);
      slot.cached.resize(prefix);
      const int64_t gained = static_cast<int64_t>(prefix) - slot.n_past;
      slot.n_past = static_cast<int>(prefix);
      job.cached_tokens += gained;
      counters_.prefix_hits += gained;
    }
    slot.leader = -1;
    slot.leader_job = nullptr;
  }
}

void Engine::Place(std::unique_ptr<Job> job, int index) {
  Slot& slot = slots_[index];
  slot.leader = -1;
  slot.leader_job = nullptr;
  llama_memory_t memory = llama_get_memory(context_.get());
  size_t prefix = CommonPrefix(slot.cached, job->tokens);
  // At least the last token is decoded again: its logits give the next one.
  prefix = std::min(prefix, job->tokens.size() - 1);
  if (!llama_memory_seq_rm(memory, index, static_cast<llama_pos>(prefix), -1)) {
    llama_memory_seq_rm(memory, index, -1, -1);
    prefix = 0;
  }
  slot.cached.resize(prefix);
  slot.n_past = static_cast<int>(prefix);
  if (!job->started) {
    job->started = true;
    job->cached_tokens = static_cast<int64_t>(prefix);
    counters_.prefix_queries += job->n_prompt;
    counters_.prefix_hits += static_cast<int64_t>(prefix);
  }
  if (job->request.on_start) job->request.on_start(index);
  slot.job = std::move(job);
  slot.last_used = absl::Now();
  absl::MutexLock lock(&mu_);
  ++running_;
}

void Engine::Preempt(int index) {
  Slot& slot = slots_[index];
  std::unique_ptr<Job> job = std::move(slot.job);
  slot.leader = -1;
  slot.leader_job = nullptr;
  // The KV stays as this slot's cache: if the job comes back here before
  // another takes the slot, it reuses all of it.
  slot.cached.resize(slot.n_past);
  ++job->preemptions;
  ++counters_.preemptions;
  absl::MutexLock lock(&mu_);
  --running_;
  batch_queue_.push_front(std::move(job));
}

int Engine::PromptBudget(int room, int generating) const {
  // Prompts read at full speed while no stream waits on the step; with
  // streams in it, the step is cut to about step_target (Sarathi-Serve's
  // stall-free batching, with the budget measured instead of profiled).
  if (options_.step_target <= absl::ZeroDuration() || generating == 0 ||
      prompt_token_cost_ <= 0) {
    return room;
  }
  // Prompts still get a quarter of step_tokens a step: a target below what
  // the hardware can do slows them, never starves them.
  const int least = std::max(1, options_.step_tokens / 4);
  double left = absl::ToDoubleSeconds(options_.step_target) - step_base_;
  int fit = left > 0 ? static_cast<int>(left / prompt_token_cost_) : 0;
  return std::min(room, std::max(least, fit));
}

void Engine::Measure(absl::Duration took, int generated, int prompt) {
  constexpr double kWeight = 0.25;  // of the newest step
  auto mix = [](double& average, double sample) {
    average = average <= 0 ? sample : (1 - kWeight) * average + kWeight * sample;
  };
  const double seconds = absl::ToDoubleSeconds(took);
  if (prompt == 0) {
    if (generated > 0) mix(step_base_, seconds);
    return;
  }
  double extra = step_base_ > 0 ? seconds - step_base_ : seconds;
  mix(prompt_token_cost_, std::max(extra, 0.0) / prompt);
}

bool Engine::Step() {
  CatchUpFollowers();
  batch_.n_tokens = 0;
  const int capacity = std::max(options_.step_tokens, options_.slots);
  auto add = [this](llama_token token, int pos, int seq, bool logits) {
    int i = batch_.n_tokens++;
    batch_.token[i] = token;
    batch_.pos[i] = pos;
    batch_.n_seq_id[i] = 1;
    batch_.seq_id[i][0] = seq;
    batch_.logits[i] = logits;
  };
  // Generating slots first: one token each.
  std::vector<int> prefilling;
  for (int i = 0; i < streams(); ++i) {
    Slot& slot = slots_[i];
    slot.logits_at = -1;
    if (slot.job == nullptr || slot.leader >= 0) continue;
    int pending = static_cast<int>(slot.job->tokens.size()) - slot.n_past;
    if (pending == 1) {
      slot.logits_at = batch_.n_tokens;
      add(slot.job->tokens[slot.n_past], slot.n_past, i, true);
    } else {
      prefilling.push_back(i);
    }
  }
  const int generated = batch_.n_tokens;
  // Then prompt chunks: interactive first, the shortest rest first (least
  // mean time to first token: a prompt mostly found in the cache is not
  // stuck behind a long one), rotating among equals.
  if (!prefilling.empty()) {
    std::rotate(prefilling.begin(),
                prefilling.begin() + next_prefill_ % prefilling.size(),
                prefilling.end());
    ++next_prefill_;
  }
  auto rest = [this](int i) {
    return static_cast<int>(slots_[i].job->tokens.size()) - slots_[i].n_past;
  };
  std::stable_sort(prefilling.begin(), prefilling.end(), [&](int a, int b) {
    bool ia = slots_[a].job->request.interactive;
    bool ib = slots_[b].job->request.interactive;
    if (ia != ib) return ia;
    return rest(a) < rest(b);
  });
  std::vector<int> chunk(streams(), 0);
  int budget = PromptBudget(capacity - batch_.n_tokens, generated);
  for (int i : prefilling) {
    if (budget <= 0) break;
    Slot& slot = slots_[i];
    int n = std::min(rest(i), budget);
    budget -= n;
    for (int t = 0; t < n; ++t) {
      int pos = slot.n_past + t;
      bool last = pos + 1 == static_cast<int>(slot.job->tokens.size());
      if (last) slot.logits_at = batch_.n_tokens;
      add(slot.job->tokens[pos], pos, i, last);
    }
    chunk[i] = n;
  }
  if (batch_.n_tokens == 0) return false;

  const absl::Time started = absl::Now();
  int32_t rc = llama_decode(context_.get(), batch_);
  if (rc != 0) {
    // 1: no KV room for this batch. Each slot has its own stream here, so
    // this means a slot outgrew its context: end the longest jobs.
    absl::Status error =
        rc == 1 ? absl::ResourceExhaustedError("the KV cache is full")
                : absl::InternalError(absl::StrCat("llama_decode failed: ", rc));
    llama_memory_t memory = llama_get_memory(context_.get());
    for (int i = 0; i < streams(); ++i) {
      if (slots_[i].job == nullptr) continue;
      // What this step added to the KV is undone before the job ends.
      llama_memory_seq_rm(memory, i, slots_[i].n_past, -1);
      Finish(i, error, "");
    }
    return true;
  }
  ++counters_.steps;
  for (int i = 0; i < streams(); ++i) {
    Slot& slot = slots_[i];
    if (slot.job == nullptr) continue;
    int decoded = slot.logits_at >= 0 && chunk[i] == 0 ? 1 : chunk[i];
    if (decoded == 0) continue;
    Job& job = *slot.job;
    int from = slot.n_past;
    for (int t = 0; t < decoded; ++t) slot.cached.push_back(job.tokens[from + t]);
    slot.n_past += decoded;
    slot.last_used = absl::Now();
    counters_.prompt_tokens += std::max(0, std::min(slot.n_past, job.n_prompt) -
                                               std::min(from, job.n_prompt));
    if (slot.logits_at < 0) continue;  // still reading its prompt
    llama_token token =
        llama_sampler_sample(job.sampler.get(), context_.get(), slot.logits_at);
    if (llama_vocab_is_eog(vocab_, token)) {
      Finish(i, absl::OkStatus(), "stop");
      continue;
    }
    job.tokens.push_back(token);
    ++job.n_generated;
    ++counters_.generation_tokens;
    if (!job.request.on_token(token)) {
      Finish(i, absl::OkStatus(), "stop");
    } else if (job.n_generated >= job.request.sampling.max_tokens ||
               static_cast<int>(job.tokens.size()) >= options_.slot_context) {
      Finish(i, absl::OkStatus(), "length");
    }
  }
  // (After sampling: on a GPU the decode may run until the logits are read.)
  Measure(absl::Now() - started, generated, batch_.n_tokens - generated);
  PublishSlots();
  return true;
}

void Engine::Finish(int index, absl::Status status, std::string finish_reason) {
  Slot& slot = slots_[index];
  std::unique_ptr<Job> job = std::move(slot.job);
  // The KV keeps what was decoded, for the next request's prefix.
  slot.cached.resize(slot.n_past);
  {
    // Published before the caller hears the end.
    absl::MutexLock lock(&mu_);
    --running_;
    slot_kv_[index] = 0;
    slot_cached_[index] = static_cast<int>(slot.cached.size());
  }
  ++counters_.requests_finished;
  GenerationResult result;
  result.status = std::move(status);
  result.finish_reason = std::move(finish_reason);
  result.usage.prompt_tokens = job->n_prompt;
  result.usage.cached_tokens = job->cached_tokens;
  result.usage.completion_tokens = job->n_generated;
  result.preemptions = job->preemptions;
  result.placed = true;
  job->request.on_done(std::move(result));
}

void Engine::FailAll(const absl::Status& status) {
  for (int i = 0; i < streams(); ++i) {
    if (slots_[i].job != nullptr) Finish(i, status, "");
  }
  std::deque<std::unique_ptr<Job>> queued;
  {
    absl::MutexLock lock(&mu_);
    for (auto* queue : {&interactive_queue_, &batch_queue_}) {
      for (auto& job : *queue) queued.push_back(std::move(job));
      queue->clear();
    }
  }
  for (auto& job : queued) EndQueued(std::move(job), status);
}

void Engine::EndQueued(std::unique_ptr<Job> job, absl::Status status) {
  GenerationResult result;
  result.status = std::move(status);
  result.usage.prompt_tokens = job->n_prompt;
  // A preempted job had a slot, and tokens.
  result.usage.cached_tokens = job->cached_tokens;
  result.usage.completion_tokens = job->n_generated;
  result.preemptions = job->preemptions;
  result.placed = job->started;
  job->request.on_done(std::move(result));
}

void Engine::PublishSlots() {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < streams(); ++i) {
    slot_kv_[i] = slots_[i].job != nullptr ? slots_[i].n_past : 0;
    slot_cached_[i] = static_cast<int>(slots_[i].cached.size());
  }
}

}  // namespace sluice::worker
