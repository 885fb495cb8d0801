#include "services/ingress/ingress_service.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "services/ingress/ingress_server.h"

namespace sluice::ingress {
namespace {

class HostedIngress final : public host::HostedService {
 public:
  HostedIngress(std::unique_ptr<IngressServer> server, std::string http_listen,
                bool https, std::string local_model)
      : server_(std::move(server)),
        http_listen_(std::move(http_listen)),
        scheme_(https ? "https://" : "http://"),
        local_model_(std::move(local_model)) {}

  grpc::Service* public_grpc() override { return server_->grpc_service(); }

  absl::Status Serve(std::vector<std::string>& announce) override {
    if (absl::Status started = server_->StartHttp(); !started.ok()) {
      return started;
    }
    std::string host = http_listen_.substr(0, http_listen_.rfind(':'));
    int port = server_->http_port();
    // A self-signed certificate needs curl's --cacert (or -k) too.
    const std::string base = absl::StrCat(scheme_, host, ":", port);
    announce.push_back(absl::StrCat("HTTP listening on ", base));
    announce.push_back(absl::StrCat(
        "try it:\n"
        "  curl -s ", base, "/v1/chat/completions \\\n"
        "    -H 'Authorization: Bearer sk-sluice-demo' \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        "    -d '{\"model\":\"deepseek-chat\",\"messages\":[{\"role\":\"user\","
        "\"content\":\"Hello\"}]}'"));
    if (!local_model_.empty()) {
      announce.push_back(absl::StrCat(
          "the self-hosted worker streams model \"", local_model_, "\":\n"
          "  curl -sN ", base, "/v1/chat/completions \\\n"
          "    -H 'Authorization: Bearer sk-sluice-demo' \\\n"
          "    -H 'Content-Type: application/json' \\\n"
          "    -d '{\"model\":\"", local_model_, "\",\"stream\":true,"
          "\"max_tokens\":32,\"messages\":[{\"role\":\"user\","
          "\"content\":\"Hello\"}]}'"));
    }
    announce.push_back(absl::StrCat(
        "operator console (cost reports, traces; asks for an admin key, "
        "admin.api_key_sha256s): ", base, "/console"));
    return absl::OkStatus();
  }

  void Drain(absl::Time deadline) override { server_->Drain(deadline); }
  absl::Status Ready() const override { return server_->Ready(); }

 private:
  std::unique_ptr<IngressServer> server_;
  std::string http_listen_;
  std::string scheme_;
  // The worker's model name when it has one configured; empty: none.
  std::string local_model_;
};

}  // namespace

host::ServiceDefinition IngressServiceDefinition() {
  return {kServiceName, /*uses_kafka=*/true,
          [](host::HostEnvironment& env)
              -> absl::StatusOr<std::unique_ptr<host::HostedService>> {
            absl::StatusOr<std::unique_ptr<IngressServer>> server =
                IngressServer::Create(env.config, env.kafka_brokers,
                                      env.components, env.io);
            if (!server.ok()) return server.status();
            std::string listen = env.config.server().http_listen().empty()
                                     ? "127.0.0.1:8080"
                                     : env.config.server().http_listen();
            const auto& worker = env.config.worker();
            std::string local_model =
                worker.model_path().empty()
                    ? ""
                    : (worker.model_name().empty() ? "local" : worker.model_name());
            const bool https =
                !env.config.server().http_tls().cert_file().empty();
            return std::make_unique<HostedIngress>(*std::move(server), listen,
                                                   https, std::move(local_model));
          }};
}

}  // namespace sluice::ingress
