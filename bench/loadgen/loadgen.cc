// sluice-loadgen: an HTTP/1.1 load generator for the gateway benchmarks.
//
// Open loop (--rate R): requests are scheduled at exponential (Poisson)
// inter-arrival times, so they never go out in lock-step bursts; each takes
// an idle keep-alive connection (opening another up to --connections), or
// waits for one. Latency runs from the scheduled time, so a server that
// falls behind is charged for the wait it causes (no coordinated
// omission). Closed loop (--rate 0): --connections connections send back
// to back; latency runs from the send.
//
// Per request it times the first body byte (TTFB: for a stream, the first
// event) and the last one (TTLB), and prints one line:
//   RESULT requests=N errors=N non2xx=N rps=R ttfb_p50=.. ttfb_p99=..
//          ttlb_p50=.. ttlb_p90=.. ttlb_p99=..   (milliseconds)
// Usage: sluice-loadgen --url http://H:P/path [--header 'K: V']...
//        --body JSON [--rate R] [--connections C] [--duration S]
//        [--warmup S] [--seed N]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string path = "/";
  std::vector<std::string> headers;
  std::string body;
  double rate = 0;
  int connections = 32;
  double duration = 10;
  double warmup = 0;
  uint64_t seed = 1;
};

struct Sample {
  double ttfb_ms;
  double ttlb_ms;
};

struct Totals {
  std::vector<Sample> samples;
  int64_t errors = 0;
  int64_t non2xx = 0;
};

// One keep-alive connection: writes a request, reads the response (sized
// by Content-Length or chunked), reports the times.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Done = std::function<void(Connection*, bool ok, int status,
                                  Clock::time_point first_byte,
                                  Clock::time_point last_byte)>;

  Connection(asio::io_context& io, const tcp::endpoint& endpoint,
             const std::string& request, Done done)
      : socket_(io), endpoint_(endpoint), request_(request),
        done_(std::move(done)) {}

  bool busy() const { return busy_; }

  void Send() {
    busy_ = true;
    Reset();
    if (!socket_.is_open()) {
      auto self = shared_from_this();
      socket_.async_connect(endpoint_, [self](boost::system::error_code ec) {
        if (ec) return self->Fail();
        self->socket_.set_option(tcp::no_delay(true));
        self->Write();
      });
      return;
    }
    Write();
  }

 private:
  void Reset() {
    buffer_.clear();
    head_done_ = false;
    status_ = 0;
    content_length_ = -1;
    chunked_ = false;
    body_seen_ = false;
    parse_at_ = 0;
  }

  void Write() {
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(request_),
                      [self](boost::system::error_code ec, size_t) {
                        if (ec) return self->Fail();
                        self->Read();
                      });
  }

  void Read() {
    auto self = shared_from_this();
    socket_.async_read_some(
        asio::buffer(chunk_), [self](boost::system::error_code ec, size_t n) {
          if (ec) return self->Fail();
          self->buffer_.append(self->chunk_.data(), n);
          int result = self->Parse();
          if (result < 0) return self->Fail();
          if (result == 0) return self->Read();
          self->Finish(true);
        });
  }

  // 1: the response is complete; 0: more bytes needed; -1: malformed.
  int Parse() {
    if (!head_done_) {
      size_t end = buffer_.find("\r\n\r\n");
      if (end == std::string::npos) return 0;
      absl::string_view head(buffer_.data(), end);
      if (head.size() < 12) return -1;
      if (!absl::SimpleAtoi(head.substr(9, 3), &status_)) return -1;
      for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
        size_t colon = line.find(':');
        if (colon == absl::string_view::npos) continue;
        std::string name = absl::AsciiStrToLower(line.substr(0, colon));
        absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
        if (name == "content-length") {
          absl::SimpleAtoi(value, &content_length_);
        } else if (name == "transfer-encoding" &&
                   absl::StrContains(absl::AsciiStrToLower(value), "chunked")) {
          chunked_ = true;
        }
      }
      head_done_ = true;
      parse_at_ = end + 4;
    }
    if (buffer_.size() > parse_at_ && !body_seen_) {
      body_seen_ = true;
      first_byte_ = Clock::now();
    }
    if (!chunked_) {
      if (content_length_ < 0) return -1;
      if (content_length_ == 0 && !body_seen_) first_byte_ = Clock::now();
      return buffer_.size() - parse_at_ >= static_cast<size_t>(content_length_)
                 ? 1 : 0;
    }
    // Chunked: walk whole chunks; a zero-size chunk (and its CRLF) ends it.
    for (;;) {
      size_t eol = buffer_.find("\r\n", parse_at_);
      if (eol == std::string::npos) return 0;
      int64_t size = 0;
      std::string hex(buffer_.data() + parse_at_, eol - parse_at_);
      size = std::strtoll(hex.c_str(), nullptr, 16);
      if (size == 0) {
        return buffer_.size() >= eol + 4 ? 1 : 0;
      }
      size_t next = eol + 2 + static_cast<size_t>(size) + 2;
      if (buffer_.size() < next) return 0;
      parse_at_ = next;
    }
  }

  void Finish(bool ok) {
    busy_ = false;
    Clock::time_point now = Clock::now();
    if (!body_seen_) first_byte_ = now;
    done_(this, ok, status_, first_byte_, now);
  }

  void Fail() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    Finish(false);
  }

  tcp::socket socket_;
  tcp::endpoint endpoint_;
  const std::string& request_;
  Done done_;
  bool busy_ = false;
  std::array<char, 16384> chunk_{};
  std::string buffer_;
  bool head_done_ = false;
  int status_ = 0;
  int64_t content_length_ = -1;
  bool chunked_ = false;
  bool body_seen_ = false;
  size_t parse_at_ = 0;
  Clock::time_point first_byte_;
};

class LoadGenerator {
 public:
  LoadGenerator(const Options& options, asio::io_context& io,
                const tcp::endpoint& endpoint)
      : options_(options), io_(io), endpoint_(endpoint), timer_(io),
        deadline_(io), rng_(options.seed) {
    request_ = absl::StrCat("POST ", options.path, " HTTP/1.1\r\nHost: ",
                            options.host, "\r\nContent-Type: application/json\r\n");
    for (const std::string& header : options.headers) {
      absl::StrAppend(&request_, header, "\r\n");
    }
    absl::StrAppend(&request_, "Content-Length: ", options.body.size(),
                    "\r\n\r\n", options.body);
  }

  Totals Run() {
    start_ = Clock::now();
    measure_from_ = start_ + Seconds(options_.warmup);
    end_ = measure_from_ + Seconds(options_.duration);
    // Answers still missing long after the end are errors, not a hang.
    deadline_.expires_at(end_ + Seconds(30));
    deadline_.async_wait([this](boost::system::error_code ec) {
      if (!ec) io_.stop();
    });
    if (options_.rate > 0) {
      next_arrival_ = start_;
      Schedule();
    } else {
      for (int i = 0; i < options_.connections; ++i) {
        Connection* c = NewConnection();
        sent_at_[c] = Clock::now();
        c->Send();
      }
    }
    io_.run();
    return std::move(totals_);
  }

 private:
  static Clock::duration Seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(s));
  }

  Connection* NewConnection() {
    auto connection = std::make_shared<Connection>(
        io_, endpoint_, request_,
        [this](Connection* c, bool ok, int status, Clock::time_point first,
               Clock::time_point last) { OnDone(c, ok, status, first, last); });
    connections_.push_back(connection);
    return connection.get();
  }

  // Open loop: one timer walks the arrival schedule.
  void Schedule() {
    if (next_arrival_ >= end_) return;
    timer_.expires_at(next_arrival_);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      Clock::time_point due = next_arrival_;
      std::exponential_distribution<double> gap(options_.rate);
      next_arrival_ += Seconds(gap(rng_));
      Dispatch(due);
      Schedule();
    });
  }

  void Dispatch(Clock::time_point due) {
    for (auto& connection : connections_) {
      if (!connection->busy()) return SendOn(connection.get(), due);
    }
    if (static_cast<int>(connections_.size()) < options_.connections) {
      return SendOn(NewConnection(), due);
    }
    waiting_.push_back(due);
  }

  void SendOn(Connection* c, Clock::time_point due) {
    sent_at_[c] = due;
    c->Send();
  }

  void OnDone(Connection* c, bool ok, int status, Clock::time_point first,
              Clock::time_point last) {
    Clock::time_point sent = sent_at_[c];
    if (sent >= measure_from_ && sent < end_) {
      if (!ok) {
        ++totals_.errors;
      } else {
        if (status < 200 || status > 299) ++totals_.non2xx;
        totals_.samples.push_back(
            {std::chrono::duration<double, std::milli>(first - sent).count(),
             std::chrono::duration<double, std::milli>(last - sent).count()});
      }
    }
    Clock::time_point now = Clock::now();
    if (options_.rate > 0) {
      if (!waiting_.empty()) {
        Clock::time_point due = waiting_.front();
        waiting_.pop_front();
        return SendOn(c, due);
      }
      if (next_arrival_ >= end_ && AllIdle()) Stop();
      return;
    }
    if (now < end_) {
      sent_at_[c] = now;
      c->Send();
    } else if (AllIdle()) {
      Stop();
    }
  }

  void Stop() {
    deadline_.cancel();
    io_.stop();
  }

  bool AllIdle() const {
    for (const auto& connection : connections_) {
      if (connection->busy()) return false;
    }
    return true;
  }

  const Options& options_;
  asio::io_context& io_;
  tcp::endpoint endpoint_;
  asio::steady_timer timer_;
  asio::steady_timer deadline_;
  std::mt19937_64 rng_;
  std::string request_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::unordered_map<Connection*, Clock::time_point> sent_at_;
  std::deque<Clock::time_point> waiting_;
  Clock::time_point start_, measure_from_, end_, next_arrival_;
  Totals totals_;
};

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  std::nth_element(values.begin(), values.begin() + static_cast<long>(rank),
                   values.end());
  return values[rank];
}

bool ParseUrl(absl::string_view url, Options& options) {
  if (!absl::ConsumePrefix(&url, "http://")) return false;
  size_t slash = url.find('/');
  absl::string_view authority = url.substr(0, slash);
  options.path = slash == absl::string_view::npos ? "/" : std::string(url.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon == absl::string_view::npos) return false;
  options.host = std::string(authority.substr(0, colon));
  options.port = std::string(authority.substr(colon + 1));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    bool ok = true;
    if (flag == "--url") {
      ok = ParseUrl(value, options);
    } else if (flag == "--header") {
      options.headers.push_back(value);
    } else if (flag == "--body") {
      options.body = value;
    } else if (flag == "--rate") {
      ok = absl::SimpleAtod(value, &options.rate);
    } else if (flag == "--connections") {
      ok = absl::SimpleAtoi(value, &options.connections);
    } else if (flag == "--duration") {
      ok = absl::SimpleAtod(value, &options.duration);
    } else if (flag == "--warmup") {
      ok = absl::SimpleAtod(value, &options.warmup);
    } else if (flag == "--seed") {
      ok = absl::SimpleAtoi(value, &options.seed);
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "sluice-loadgen: bad flag %s %s\n", flag.c_str(),
                   value.c_str());
      return 2;
    }
  }
  if (options.port.empty()) {
    std::fprintf(stderr, "sluice-loadgen: --url http://HOST:PORT/PATH needed\n");
    return 2;
  }
  asio::io_context io(1);
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(options.host, options.port, ec);
  if (ec || endpoints.empty()) {
    std::fprintf(stderr, "sluice-loadgen: cannot resolve %s\n", options.host.c_str());
    return 1;
  }
  LoadGenerator generator(options, io, *endpoints.begin());
  Totals totals = generator.Run();
  std::vector<double> ttfb, ttlb;
  for (const Sample& s : totals.samples) {
    ttfb.push_back(s.ttfb_ms);
    ttlb.push_back(s.ttlb_ms);
  }
  double rps = static_cast<double>(totals.samples.size() + totals.errors) /
               options.duration;
  std::printf(
      "RESULT requests=%zu errors=%lld non2xx=%lld rps=%.0f ttfb_p50=%.3f "
      "ttfb_p99=%.3f ttlb_p50=%.3f ttlb_p90=%.3f ttlb_p99=%.3f\n",
      totals.samples.size(), static_cast<long long>(totals.errors),
      static_cast<long long>(totals.non2xx), rps, Percentile(ttfb, 50),
      Percentile(ttfb, 99), Percentile(ttlb, 50), Percentile(ttlb, 90),
      Percentile(ttlb, 99));
  return 0;
}
