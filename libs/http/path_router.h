// Dispatches requests by method and path (exact, or by prefix); unknown paths
// get OpenAI's 404 error body, a known path with another method 405.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/http/server.h"

namespace sluice::http {

class PathRouter {
 public:
  // Routes `method` `path` exactly.
  void Add(std::string method, std::string path, Handler handler) {
    routes_[{std::move(path), std::move(method)}] = std::move(handler);
  }

  // Routes `method` on every path that starts with `prefix`. Exact routes win;
  // among prefixes, the first added that matches.
  void AddPrefix(std::string method, std::string prefix, Handler handler) {
    prefixes_.push_back(
        {std::move(prefix), std::move(method), std::move(handler)});
  }

  void Dispatch(Request request, ResponseWriterPtr writer) const {
    auto it = routes_.find({request.path, request.method});
    if (it != routes_.end()) {
      return it->second(std::move(request), std::move(writer));
    }
    for (const Prefix& prefix : prefixes_) {
      if (prefix.method == request.method &&
          absl::StartsWith(request.path, prefix.prefix)) {
        return prefix.handler(std::move(request), std::move(writer));
      }
    }
    bool path_known = false;
    for (const auto& [key, handler] : routes_) {
      path_known |= key.first == request.path;
    }
    for (const Prefix& prefix : prefixes_) {
      path_known |= absl::StartsWith(request.path, prefix.prefix);
    }
    writer->Respond(
        path_known ? 405 : 404, {{"content-type", "application/json"}},
        absl::StrCat(
            R"({"error":{"message":")",
            path_known ? "Method not allowed" : "Unknown request URL", ": ",
            EscapeForJson(request.method), " ", EscapeForJson(request.path),
            R"(","type":"invalid_request_error","param":null,"code":")",
            path_known ? "method_not_allowed" : "not_found", "\"}}"));
  }

 private:
  struct Prefix {
    std::string prefix;
    std::string method;
    Handler handler;
  };

  static std::string EscapeForJson(absl::string_view text) {
    std::string out;
    for (char c : text) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(c);
      } else if (static_cast<unsigned char>(c) >= 0x20) {
        out.push_back(c);
      }
    }
    return out;
  }

  // (path, method) → handler
  std::map<std::pair<std::string, std::string>, Handler> routes_;
  std::vector<Prefix> prefixes_;
};

}  // namespace sluice::http
