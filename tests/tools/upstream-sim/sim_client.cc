// libcurl test client; see sim_client.h.
#include "tests/tools/upstream-sim/sim_client.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sluice::sim::testing {
namespace {

size_t OnBody(char* data, size_t size, size_t count, void* out) {
  static_cast<Reply*>(out)->body.append(data, size * count);
  return size * count;
}

size_t OnHeader(char* data, size_t size, size_t count, void* out) {
  absl::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    static_cast<Reply*>(out)->headers.emplace_back(
        absl::AsciiStrToLower(line.substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * count;
}

// One configured transfer; `reply` and `call` must outlive it.
struct Transfer {
  Transfer(uint16_t port, const Call& call, Reply& reply)
      : url(absl::StrCat("http://127.0.0.1:", port, call.path)) {
    for (const std::string& header : call.headers) {
      list = curl_slist_append(list, header.c_str());
    }
    list = curl_slist_append(list, "Expect:");
    if (call.method == "POST") {
      list = curl_slist_append(list, "Content-Type: application/json");
    }
    curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(
        curl, CURLOPT_TIMEOUT_MS,
        static_cast<long>(absl::ToInt64Milliseconds(call.timeout)));
    if (call.method != "GET") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call.body.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
                       static_cast<long>(call.body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply);
  }
  ~Transfer() {
    curl_easy_cleanup(curl);
    curl_slist_free_all(list);
  }

  std::string url;
  curl_slist* list = nullptr;
  CURL* curl = nullptr;
};

}  // namespace

std::string Reply::Header(const std::string& lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

Reply Send(uint16_t port, const Call& call) {
  Reply reply;
  Transfer transfer(port, call, reply);
  reply.result = curl_easy_perform(transfer.curl);
  curl_easy_getinfo(transfer.curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

std::vector<Reply> SendAll(uint16_t port, const std::vector<Call>& calls) {
  std::vector<Reply> replies(calls.size());
  std::vector<std::unique_ptr<Transfer>> transfers;
  CURLM* multi = curl_multi_init();
  for (size_t i = 0; i < calls.size(); ++i) {
    transfers.push_back(std::make_unique<Transfer>(port, calls[i], replies[i]));
    curl_easy_setopt(transfers.back()->curl, CURLOPT_PRIVATE, &replies[i]);
    curl_multi_add_handle(multi, transfers.back()->curl);
  }
  int running = 1;
  while (running > 0) {
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      Reply* reply = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &reply);
      reply->result = message->data.result;
      curl_easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE,
                        &reply->status);
    }
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  for (auto& transfer : transfers) {
    curl_multi_remove_handle(multi, transfer->curl);
  }
  curl_multi_cleanup(multi);
  return replies;
}

std::vector<std::string> SseBody::Data() const {
  std::vector<std::string> data;
  for (const auto& event : events) data.push_back(event.data);
  return data;
}

SseBody ParseSse(const std::string& body) {
  SseBody parsed;
  http::SseParser parser(
      [&](const http::SseParser::Event& event) {
        parsed.events.push_back(event);
      },
      [&](absl::string_view) { ++parsed.comments; });
  parser.Feed(body);
  return parsed;
}

}  // namespace sluice::sim::testing
