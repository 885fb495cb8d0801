#include "services/metering/console/console_routes.h"

#include <string>
#include <utility>

#include "services/metering/console/console_assets.h"

namespace sluice::console {
namespace {

constexpr char kPrefix[] = "/console/";

std::string ContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

void Serve(std::string_view name, http::ResponseWriter& writer) {
  for (const EmbeddedFile& file : EmbeddedFiles()) {
    if (file.name != name) continue;
    writer.Respond(200,
                   {{"content-type", ContentType(name)},
                    {"cache-control", "no-cache"},
                    {"x-content-type-options", "nosniff"},
                    // Only our own files: an injected script could not load
                    // or send anything elsewhere.
                    {"content-security-policy",
                     "default-src 'self'; style-src 'self' 'unsafe-inline'"}},
                   std::string(file.body));
    return;
  }
  writer.Respond(404, {{"content-type", "text/plain; charset=utf-8"}},
                 "not found\n");
}

}  // namespace

void AddConsoleRoutes(http::PathRouter& paths) {
  paths.Add("GET", "/console", [](http::Request, http::ResponseWriterPtr w) {
    Serve("index.html", *w);
  });
  paths.AddPrefix("GET", kPrefix,
                  [](http::Request request, http::ResponseWriterPtr w) {
                    std::string_view name = request.path;
                    name.remove_prefix(sizeof(kPrefix) - 1);
                    Serve(name.empty() ? "index.html" : name, *w);
                  });
}

}  // namespace sluice::console
