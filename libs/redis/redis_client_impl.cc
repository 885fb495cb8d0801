#include "libs/redis/redis_client_impl.h"

#include "libs/process/thread_name.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <memory>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/obs/logging.h"
#include "libs/redis/asio_event_adapter.h"

namespace sluice::redis {
namespace {

// Commands that turn the connection into a push stream, which the
// one-reply-per-command queue cannot follow.
bool IsPushCommand(const std::string& name) {
  for (const char* push :
       {"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
        "sunsubscribe", "monitor"}) {
    if (absl::EqualsIgnoreCase(name, push)) return true;
  }
  return false;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

AsioRedisClient::AsioRedisClient(RedisOptions options, std::string host,
                                 int port)
    : options_(std::move(options)),
      host_(std::move(host)),
      port_(port),
      command_timeout_(absl::ToChronoNanoseconds(options_.command_timeout)),
      metrics_(RedisMetrics::Get()),
      work_(io_.get_executor()),
      resolver_(io_),
      connect_timer_(io_),
      reconnect_timer_(io_),
      deadline_timer_(io_),
      backoff_(options_.reconnect_backoff) {
  boost::asio::post(io_, [this] { Connect(); });
  thread_ = std::thread([this] {
    process::NameThisThread("sluice-redis");
    // hiredis writes with write(2): a peer that went away must give EPIPE,
    // not a process-killing SIGPIPE. Blocking it here confines the signal
    // to this thread, where it stays pending and harmless.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    io_.run();
  });
}

AsioRedisClient::~AsioRedisClient() {
  boost::asio::post(io_, [this] { Shutdown(); });
  work_.reset();
  thread_.join();  // run() returns once every handler has run
}

void AsioRedisClient::Command(std::vector<std::string> args,
                              ReplyCallback done) {
  boost::asio::post(
      io_, [this, args = std::move(args), done = std::move(done)]() mutable {
        Send(std::move(args), std::move(done));
      });
}

void AsioRedisClient::Eval(const std::string& text,
                           std::vector<std::string> keys,
                           std::vector<std::string> args, ReplyCallback done) {
  std::shared_ptr<LuaScript> script = scripts_.Lookup(text);
  // The words after the script or its SHA-1: numkeys, keys, args.
  auto tail = std::make_shared<std::vector<std::string>>();
  tail->reserve(1 + keys.size() + args.size());
  tail->push_back(absl::StrCat(keys.size()));
  std::move(keys.begin(), keys.end(), std::back_inserter(*tail));
  std::move(args.begin(), args.end(), std::back_inserter(*tail));

  auto eval = [this, script, tail](ReplyCallback done) {
    std::vector<std::string> words = {"EVAL", script->text};
    words.insert(words.end(), tail->begin(), tail->end());
    Command(std::move(words),
            [script, done = std::move(done)](absl::StatusOr<RedisReply> reply) {
              if (reply.ok() && !reply->is_error()) script->loaded = true;
              done(std::move(reply));
            });
  };
  if (!script->loaded) {
    eval(std::move(done));
    return;
  }
  std::vector<std::string> words = {"EVALSHA", script->sha1};
  words.insert(words.end(), tail->begin(), tail->end());
  Command(std::move(words),
          [script, eval = std::move(eval),
           done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
            if (reply.ok() && reply->is_error() &&
                absl::StartsWith(reply->str, "NOSCRIPT")) {
              // Flushed or restarted: send the script itself, which loads it.
              script->loaded = false;
              eval(std::move(done));
              return;
            }
            done(std::move(reply));
          });
}

void AsioRedisClient::Send(std::vector<std::string> args, ReplyCallback done) {
  if (shutting_down_) {
    done(absl::CancelledError("redis client shutting down"));
    return;
  }
  if (args.empty() || IsPushCommand(args[0])) {
    done(absl::InvalidArgumentError(
        args.empty() ? "empty redis command"
                     : absl::StrCat("unsupported redis command ", args[0])));
    return;
  }
  if (state_ != State::kConnected) {
    metrics_.unavailable_errors.Increment();
    done(absl::UnavailableError(
        absl::StrCat("redis ", options_.address, " not connected")));
    return;
  }
  if (in_flight_.size() >= static_cast<size_t>(options_.max_in_flight)) {
    metrics_.overloaded_errors.Increment();
    done(absl::UnavailableError("too many redis commands in flight"));
    return;
  }
  absl::InlinedVector<const char*, 8> argv;
  absl::InlinedVector<size_t, 8> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  // Copies the words into hiredis' output buffer and asks for a write.
  if (redisAsyncCommandArgv(context_, &AsioRedisClient::ReplyThunk, this,
                            static_cast<int>(argv.size()), argv.data(),
                            lengths.data()) != REDIS_OK) {
    metrics_.unavailable_errors.Increment();
    done(absl::UnavailableError("redis connection is closing"));
    return;
  }
  Clock::time_point now = Clock::now();
  in_flight_.push_back({std::move(done), now, now + command_timeout_});
  ArmDeadline();
}

void AsioRedisClient::ReplyThunk(redisAsyncContext* context, void* reply,
                                 void* privdata) {
  static_cast<AsioRedisClient*>(privdata)->OnReply(
      static_cast<redisReply*>(reply));
}

void AsioRedisClient::OnReply(redisReply* reply) {
  if (in_flight_.empty()) return;  // cannot happen: one reply per command
  InFlight call = std::move(in_flight_.front());
  in_flight_.pop_front();
  if (expired_ > 0) {  // answered DEADLINE_EXCEEDED already
    --expired_;
    return;
  }
  if (reply == nullptr) {  // hiredis is dropping the connection
    if (shutting_down_) {
      call.done(absl::CancelledError("redis client shutting down"));
      return;
    }
    metrics_.unavailable_errors.Increment();
    call.done(absl::UnavailableError(
        absl::StrCat("redis connection lost: ", last_error_)));
    return;
  }
  metrics_.command_seconds.Observe(SecondsSince(call.sent));
  RedisReply copy = CopyReply(*reply);
  if (copy.is_error()) metrics_.error_replies.Increment();
  call.done(std::move(copy));
}

// One timer for the whole queue, set to the oldest live deadline. It is not
// moved when that command is answered: it fires early, finds nothing
// overdue and moves on to the next deadline.
void AsioRedisClient::ArmDeadline() {
  if (deadline_armed_ || expired_ == in_flight_.size()) return;
  deadline_armed_ = true;
  deadline_timer_.expires_at(in_flight_[expired_].deadline);
  deadline_timer_.async_wait([this](const boost::system::error_code& error) {
    deadline_armed_ = false;
    if (error || shutting_down_) return;
    ExpireOverdue();
    ArmDeadline();
  });
}

void AsioRedisClient::ExpireOverdue() {
  Clock::time_point now = Clock::now();
  while (expired_ < in_flight_.size() && in_flight_[expired_].deadline <= now) {
    ReplyCallback done = std::move(in_flight_[expired_].done);
    in_flight_[expired_].done = nullptr;
    ++expired_;
    metrics_.timeout_errors.Increment();
    done(absl::DeadlineExceededError("redis command timed out"));
  }
}

void AsioRedisClient::Connect() {
  if (shutting_down_) return;
  state_ = State::kConnecting;
  uint64_t attempt = ++attempt_;
  connect_timer_.expires_after(
      absl::ToChronoNanoseconds(options_.connect_timeout));
  connect_timer_.async_wait(
      [this, attempt](const boost::system::error_code& error) {
        if (!error) OnConnectTimeout(attempt);
      });
  // Resolving runs on Asio's resolver thread, never blocking this one.
  resolver_.async_resolve(
      host_, std::to_string(port_),
      [this, attempt](const boost::system::error_code& error,
                      boost::asio::ip::tcp::resolver::results_type results) {
        if (attempt != attempt_ || state_ != State::kConnecting ||
            shutting_down_) {
          return;
        }
        if (error || results.empty()) {
          last_error_ =
              absl::StrCat("cannot resolve ", host_, ": ", error.message());
          OnAttemptFailed();
          return;
        }
        // IPv4 first: "localhost" often resolves to ::1 first, where a
        // Redis bound to 127.0.0.1 does not listen.
        auto chosen = results.begin();
        for (auto it = results.begin(); it != results.end(); ++it) {
          if (it->endpoint().address().is_v4()) {
            chosen = it;
            break;
          }
        }
        ConnectTo(chosen->endpoint().address().to_string());
      });
}

void AsioRedisClient::ConnectTo(const std::string& ip) {
  redisAsyncContext* context = redisAsyncConnect(ip.c_str(), port_);
  if (context == nullptr || context->err) {
    last_error_ = context != nullptr ? context->errstr : "out of memory";
    if (context != nullptr) redisAsyncFree(context);
    OnAttemptFailed();
    return;
  }
  redisEnableKeepAlive(&context->c);
  context->data = this;
  if (!AsioEventAdapter::Attach(io_, context,
                                [this, context] { OnContextGone(context); })) {
    last_error_ = "cannot watch the redis socket";
    redisAsyncFree(context);
    OnAttemptFailed();
    return;
  }
  context_ = context;
  // Waits for the socket to become writable, which completes the connect.
  redisAsyncSetConnectCallback(context, &AsioRedisClient::ConnectThunk);
}

void AsioRedisClient::ConnectThunk(const redisAsyncContext* context,
                                   int status) {
  static_cast<AsioRedisClient*>(context->data)->OnConnected(status);
}

void AsioRedisClient::OnConnected(int status) {
  // On failure hiredis frees the context next, and OnContextGone follows.
  if (status != REDIS_OK) return;
  state_ = State::kConnected;
  connected_.store(true, std::memory_order_relaxed);
  metrics_.connected.Add(1);
  connect_timer_.cancel();
  backoff_ = options_.reconnect_backoff;
  if (down_logged_) {
    obs::LogWarn({}, "redis reconnected", {{"address", options_.address}});
    down_logged_ = false;
  } else {
    obs::LogInfo({}, "redis connected", {{"address", options_.address}});
  }
}

void AsioRedisClient::OnConnectTimeout(uint64_t attempt) {
  if (attempt != attempt_ || state_ != State::kConnecting) return;
  last_error_ = "connect timed out";
  if (context_ != nullptr) {
    redisAsyncFree(context_);  // ends in OnContextGone
  } else {
    resolver_.cancel();
    OnAttemptFailed();
  }
}

// Runs inside hiredis, which may still hand replies (null ones) to
// OnReply after this returns, so the queue is left to them.
void AsioRedisClient::OnContextGone(redisAsyncContext* context) {
  if (context->err) last_error_ = context->errstr;
  context_ = nullptr;
  bool was_connected = state_ == State::kConnected;
  state_ = State::kDown;
  if (!was_connected) {
    OnAttemptFailed();
    return;
  }
  connected_.store(false, std::memory_order_relaxed);
  metrics_.connected.Add(-1);
  if (shutting_down_) return;
  obs::LogWarn({}, "redis disconnected",
               {{"address", options_.address}, {"error", last_error_}});
  down_logged_ = true;
  ScheduleReconnect();
}

void AsioRedisClient::OnAttemptFailed() {
  state_ = State::kDown;
  connect_timer_.cancel();
  if (shutting_down_) return;
  if (!down_logged_) {
    obs::LogWarn({}, "redis unreachable",
                 {{"address", options_.address}, {"error", last_error_}});
    down_logged_ = true;
  }
  ScheduleReconnect();
}

// Waits the backoff (the initial one after a lost connection, so that a
// server that accepts and drops connections is not hammered), doubling it.
void AsioRedisClient::ScheduleReconnect() {
  reconnect_timer_.expires_after(absl::ToChronoNanoseconds(backoff_));
  backoff_ = std::min(backoff_ * 2, options_.max_reconnect_backoff);
  reconnect_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) Connect();
  });
}

void AsioRedisClient::Shutdown() {
  shutting_down_ = true;
  resolver_.cancel();
  connect_timer_.cancel();
  reconnect_timer_.cancel();
  deadline_timer_.cancel();
  // Hands every pending command a null reply (CANCELLED), then cleans up.
  if (context_ != nullptr) redisAsyncFree(context_);
  for (InFlight& call : in_flight_) {  // only if hiredis skipped some
    if (call.done) call.done(absl::CancelledError("redis client shut down"));
  }
  in_flight_.clear();
  expired_ = 0;
}

}  // namespace sluice::redis
