// Config loading: YAML → sluice.v1.Config by reflection, every error kind
// with its line, env expansion, durations, validation, and the defaults.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "libs/config/config_loader.h"
#include "libs/config/env_expand.h"
#include "libs/config/yaml_to_proto.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;

constexpr char kFullConfig[] = R"yaml(
server:
  http_listen: 0.0.0.0:8080
  grpc_listen: 127.0.0.1:9090
  http_threads: 4
  max_body_bytes: 1048576
services: [ingress, router, adapters]
remotes:
  - {name: metering, address: "10.0.0.5:7000"}
kafka:
  brokers: kafka-1:9092,kafka-2:9092
  usage_topic: usage
metering:
  sqlite_path: ":memory:"
  consumer_group: meter
providers:
  - name: ds
    kind: openai
    base_url: https://api.deepseek.com/v1
    api_key_env: DEEPSEEK_API_KEY
    timeouts:
      connect: 250ms
      first_token: 2s
      stall: 1m30s
      total: 1.5s
  - name: claude
    kind: PROVIDER_KIND_ANTHROPIC
    base_url: https://api.anthropic.com
  - name: local
    kind: Worker
routes:
  - model: deepseek-chat
    provider: ds
  - {model: small, provider: local, upstream_model: llama-3b}
tenants:
  - name: acme
    api_key_sha256s:
      - 1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213
logging:
  level: debug
)yaml";

std::string ErrorOf(absl::string_view yaml) {
  absl::StatusOr<sluice::v1::Config> config = ParseConfig(yaml, "config.yaml");
  EXPECT_FALSE(config.ok()) << yaml;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(ConfigTest, FullConfigMapsEveryField) {
  absl::StatusOr<sluice::v1::Config> c = ParseConfig(kFullConfig);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server().http_listen(), "0.0.0.0:8080");
  EXPECT_EQ(c->server().grpc_listen(), "127.0.0.1:9090");
  EXPECT_EQ(c->server().http_threads(), 4);
  EXPECT_EQ(c->server().max_body_bytes(), 1048576);
  ASSERT_EQ(c->services_size(), 3);
  EXPECT_EQ(c->services(2), "adapters");
  ASSERT_EQ(c->remotes_size(), 1);
  EXPECT_EQ(c->remotes(0).address(), "10.0.0.5:7000");
  EXPECT_EQ(c->kafka().brokers(), "kafka-1:9092,kafka-2:9092");
  EXPECT_EQ(c->kafka().usage_topic(), "usage");
  EXPECT_EQ(c->metering().sqlite_path(), ":memory:");
  EXPECT_EQ(c->metering().consumer_group(), "meter");
  ASSERT_EQ(c->providers_size(), 3);
  EXPECT_EQ(c->providers(0).kind(), sluice::v1::PROVIDER_KIND_OPENAI);
  EXPECT_EQ(c->providers(0).api_key_env(), "DEEPSEEK_API_KEY");
  EXPECT_EQ(c->providers(1).kind(), sluice::v1::PROVIDER_KIND_ANTHROPIC);
  EXPECT_EQ(c->providers(2).kind(), sluice::v1::PROVIDER_KIND_WORKER);
  EXPECT_FALSE(c->providers(2).has_timeouts());
  ASSERT_EQ(c->routes_size(), 2);
  EXPECT_EQ(c->routes(1).upstream_model(), "llama-3b");
  EXPECT_EQ(c->routes(1).provider(), "local");
  ASSERT_EQ(c->tenants_size(), 1);
  EXPECT_EQ(c->tenants(0).api_key_sha256s_size(), 1);
  EXPECT_EQ(c->logging().level(), "debug");

  // Round trip: the same text parses to an equal message.
  absl::StatusOr<sluice::v1::Config> again = ParseConfig(kFullConfig);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*c, *again));
}

TEST(ConfigTest, DurationForms) {
  absl::StatusOr<sluice::v1::Config> c = ParseConfig(kFullConfig);
  ASSERT_TRUE(c.ok()) << c.status();
  const sluice::v1::ProviderTimeouts& t = c->providers(0).timeouts();
  EXPECT_EQ(t.connect().seconds(), 0);
  EXPECT_EQ(t.connect().nanos(), 250000000);
  EXPECT_EQ(t.first_token().seconds(), 2);
  EXPECT_EQ(t.first_token().nanos(), 0);
  EXPECT_EQ(t.stall().seconds(), 90);
  EXPECT_EQ(t.total().seconds(), 1);
  EXPECT_EQ(t.total().nanos(), 500000000);
}

TEST(ConfigTest, UnknownKeySuggestsClosestField) {
  EXPECT_EQ(ErrorOf("server:\n  http_threads: 2\n  htp_listen: x\n"),
            "config.yaml:3:3: server.htp_listen: unknown key (did you mean "
            "\"http_listen\"?)");
  EXPECT_EQ(ErrorOf("logging:\n  zzzzzzzz: 1\n"),
            "config.yaml:2:3: logging.zzzzzzzz: unknown key");
}

TEST(ConfigTest, WrongScalarType) {
  EXPECT_EQ(ErrorOf("server:\n  http_threads: abc\n"),
            "config.yaml:2:17: server.http_threads: expected an integer, got "
            "\"abc\"");
  EXPECT_THAT(ErrorOf("server:\n  max_body_bytes: 1.5\n"),
              HasSubstr("expected an integer, got \"1.5\""));
  EXPECT_THAT(ErrorOf("server: [1, 2]\n"),
              HasSubstr("config.yaml:1:9: server: expected a mapping"));
  EXPECT_THAT(ErrorOf("kafka:\n  brokers: {a: b}\n"),
              HasSubstr("kafka.brokers: expected a value, got a mapping"));
}

TEST(ConfigTest, BadEnumListsChoices) {
  EXPECT_EQ(ErrorOf("providers:\n  - name: a\n    kind: grpc\n"),
            "config.yaml:3:11: providers[0].kind: unknown value \"grpc\" "
            "(expected one of: openai, anthropic, worker)");
  EXPECT_THAT(ErrorOf("providers:\n  - name: a\n    kind: unspecified\n"),
              HasSubstr("unknown value \"unspecified\""));
}

// Zero values with names of their own are written like any other (the
// README documents `strategy: priority`); only ..._UNSPECIFIED is refused.
TEST(ConfigTest, NamedZeroEnumValuesLoad) {
  absl::StatusOr<sluice::v1::Config> config = ParseConfig(
      "providers:\n  - {name: a, kind: openai, base_url: http://x}\n"
      "routes:\n"
      "  - model: m\n"
      "    strategy: priority\n"
      "    on_truncation: report\n"
      "    candidates: [{provider: a, model: m}]\n"
      "  - model: n\n"
      "    strategy: cost\n"
      "    candidates: [{provider: a, model: n}]\n"
      "tenants:\n  - {name: t, cache: {mode: deterministic}}\n",
      "config.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->routes(0).strategy(), sluice::v1::ROUTE_STRATEGY_PRIORITY);
  EXPECT_EQ(config->routes(0).on_truncation(),
            sluice::v1::TRUNCATION_POLICY_REPORT);
  EXPECT_EQ(config->routes(1).strategy(), sluice::v1::ROUTE_STRATEGY_COST);
  EXPECT_EQ(config->tenants(0).cache().mode(),
            sluice::v1::CACHE_MODE_DETERMINISTIC);
  EXPECT_THAT(ErrorOf("routes:\n  - model: m\n    strategy: fastest\n"),
              HasSubstr("(expected one of: priority, cost, latency, "
                        "weighted)"));
}

TEST(ConfigTest, BadDuration) {
  std::string yaml =
      "providers:\n"
      "  - {name: a, kind: openai, base_url: http://a}\n"
      "  - name: b\n"
      "    kind: openai\n"
      "    timeouts:\n"
      "      stall: fast\n";
  EXPECT_THAT(ErrorOf(yaml),
              HasSubstr("config.yaml:6:14: providers[1].timeouts.stall: "
                        "invalid duration \"fast\""));
  EXPECT_THAT(ErrorOf("providers:\n  - timeouts: {total: -2s}\n"),
              HasSubstr("invalid duration \"-2s\""));
}

TEST(ConfigTest, ScalarWhereListExpected) {
  EXPECT_EQ(ErrorOf("services: ingress\n"),
            "config.yaml:1:11: services: expected a list, got \"ingress\"");
  EXPECT_THAT(ErrorOf("tenants:\n  - name: t\n    api_key_sha256s: abc\n"),
              HasSubstr("config.yaml:3:22: tenants[0].api_key_sha256s: "
                        "expected a list"));
}

TEST(ConfigTest, YamlSyntaxErrorHasLine) {
  EXPECT_EQ(ErrorOf("logging:\n  level: info\n  - x\n"),
            "config.yaml:3:3: end of map not found");
  EXPECT_EQ(ErrorOf("server:\n  http_listen: [a, b\nkafka: {}\n"),
            "config.yaml:3:6: end of sequence flow not found");
}

TEST(ConfigTest, DuplicateKeyRejected) {
  EXPECT_THAT(ErrorOf("logging:\n  level: info\n  level: debug\n"),
              HasSubstr("config.yaml:3:3: logging.level: duplicate key"));
}

TEST(ConfigTest, EnvExpansion) {
  ASSERT_EQ(setenv("SLUICE_TEST_HOST", "10.1.2.3", 1), 0);
  ASSERT_EQ(unsetenv("SLUICE_TEST_UNSET"), 0);
  absl::StatusOr<sluice::v1::Config> c = ParseConfig(
      "server:\n"
      "  http_listen: ${SLUICE_TEST_HOST}:${SLUICE_TEST_UNSET:-8080}\n"
      "  grpc_listen: ${SLUICE_TEST_HOST:-x}:1\n"
      "  http_threads: ${SLUICE_TEST_UNSET:-3}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server().http_listen(), "10.1.2.3:8080");
  EXPECT_EQ(c->server().grpc_listen(), "10.1.2.3:1");
  EXPECT_EQ(c->server().http_threads(), 3);

  EXPECT_EQ(ErrorOf("kafka:\n  brokers: ${SLUICE_TEST_UNSET}\n"),
            "config.yaml:2:12: kafka.brokers: environment variable "
            "SLUICE_TEST_UNSET is not set");
  EXPECT_THAT(ErrorOf("kafka:\n  brokers: ${SLUICE_TEST_HOST\n"),
              HasSubstr("unclosed"));
  ASSERT_EQ(unsetenv("SLUICE_TEST_HOST"), 0);
}

TEST(ConfigTest, ExpandEnvLeavesPlainTextAlone) {
  absl::StatusOr<std::string> plain = ExpandEnv("a $b {c} $");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, "a $b {c} $");
  absl::StatusOr<std::string> empty_default = ExpandEnv("x${SLUICE_NOPE:-}y");
  ASSERT_TRUE(empty_default.ok());
  EXPECT_EQ(*empty_default, "xy");
}

TEST(ConfigTest, ValidationErrorsNamePathAndLine) {
  std::string yaml =
      "providers:\n"
      "  - {name: a, kind: openai, base_url: http://a}\n"
      "routes:\n"
      "  - {model: m1, provider: a}\n"
      "  - {model: m2, provider: a}\n"
      "  - model: m3\n"
      "    provider: x\n";
  EXPECT_EQ(ErrorOf(yaml),
            "config.yaml:7:15: routes[2].provider: unknown provider \"x\"");

  sluice::v1::Config config;
  config.add_providers()->set_name("a");
  config.mutable_providers(0)->set_kind(sluice::v1::PROVIDER_KIND_WORKER);
  config.add_routes()->set_model("m");
  config.mutable_routes(0)->set_provider("x");
  EXPECT_EQ(ValidateConfig(config).message(),
            "routes[0].provider: unknown provider \"x\"");
}

TEST(ConfigTest, ValidationRules) {
  EXPECT_EQ(ErrorOf("providers:\n"
                    "  - {name: a, kind: openai, base_url: http://a}\n"
                    "  - {name: a, kind: worker}\n"),
            "config.yaml:3:12: providers[1].name: duplicate provider \"a\"");
  EXPECT_THAT(ErrorOf("providers:\n  - {name: a, kind: openai}\n"),
              HasSubstr("providers[0].base_url: required"));
  EXPECT_THAT(ErrorOf("providers:\n  - {name: a, base_url: http://a}\n"),
              HasSubstr("config.yaml:2:5: providers[0].kind: required"));
  EXPECT_THAT(ErrorOf("providers:\n  - {kind: worker}\n"),
              HasSubstr("providers[0].name: required"));
  EXPECT_THAT(ErrorOf("services: [ingress, billing]\n"),
              HasSubstr("config.yaml:1:21: services[1]: unknown service "
                        "\"billing\""));
  EXPECT_THAT(ErrorOf("remotes:\n  - {name: router}\n"),
              HasSubstr("remotes[0].address: required"));
  EXPECT_THAT(ErrorOf("remotes:\n  - {address: x}\n"),
              HasSubstr("remotes[0].name: required"));
  EXPECT_THAT(ErrorOf("providers:\n  - {name: a, kind: worker}\n"
                      "routes:\n  - {model: m, provider: a}\n"
                      "  - {model: m, provider: a}\n"),
              HasSubstr("routes[1].model: duplicate route for \"m\""));
  EXPECT_THAT(ErrorOf("tenants:\n  - {name: t, api_key_sha256s: [abc]}\n"),
              HasSubstr("tenants[0].api_key_sha256s[0]: expected 64 hex"));
}

TEST(ConfigTest, RouterValidationRules) {
  const std::string providers =
      "providers:\n  - {name: a, kind: openai, base_url: http://a}\n";
  EXPECT_EQ(ErrorOf(providers + "routes:\n  - model: m\n    candidates:\n"
                                "      - {provider: x, model: y}\n"),
            "config.yaml:6:20: routes[0].candidates[0].provider: unknown "
            "provider \"x\"");
  EXPECT_THAT(ErrorOf(providers + "routes:\n  - {model: m}\n"),
              HasSubstr("routes[0].provider: required (or list the route's "
                        "candidates)"));
  EXPECT_THAT(ErrorOf(providers + "routes:\n  - model: m\n    provider: a\n"
                                  "    tasks: [{task: code_generation}]\n"),
              HasSubstr("routes[0].tasks[0].candidates: required"));
  EXPECT_THAT(ErrorOf(providers + "routes:\n  - {model: m, provider: a}\n"
                                  "router:\n  aliases: [{alias: d, model: n}]\n"),
              HasSubstr("router.aliases[0].model: no route for \"n\""));
  EXPECT_THAT(ErrorOf(providers + "routes:\n  - {model: m, provider: a}\n"
                                  "router:\n  aliases: [{alias: m, model: m}]\n"),
              HasSubstr("router.aliases[0].alias: \"m\" is already a route's "
                        "model"));
  EXPECT_THAT(ErrorOf("router:\n  task_rules: [{keywords: [x]}]\n"),
              HasSubstr("router.task_rules[0].task: required"));
  EXPECT_THAT(ErrorOf(providers + "models:\n  - {provider: a, model: m, "
                                  "input_usd_per_mtok: -1}\n"),
              HasSubstr("models[0]: prices must not be negative"));
  EXPECT_THAT(ErrorOf("routes:\n  - model: m\n    strategy: fastest\n"),
              HasSubstr("strategy"));
  // The same model for one tenant and for everyone is two routes, not a
  // duplicate.
  EXPECT_TRUE(ParseConfig(providers + "routes:\n  - {model: m, provider: a}\n"
                                      "  - {model: m, tenant: t, provider: a}\n",
                          "config.yaml")
                  .ok());
}

TEST(ConfigTest, EmptyDocumentAndNullValuesAreEmptyConfig) {
  absl::StatusOr<sluice::v1::Config> empty = ParseConfig("");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->ByteSizeLong(), 0u);
  absl::StatusOr<sluice::v1::Config> nulls =
      ParseConfig("server:\nkafka:\n  brokers:\nservices:\n");
  ASSERT_TRUE(nulls.ok()) << nulls.status();
  EXPECT_EQ(nulls->kafka().brokers(), "");
}

TEST(ConfigTest, YamlToMessageRecordsMarks) {
  YAML::Node node = YAML::Load("logging:\n  level: warn\n");
  sluice::v1::Config config;
  PathMarks marks;
  ASSERT_TRUE(YamlToMessage(node, &config, "x", &marks).ok());
  EXPECT_EQ(config.logging().level(), "warn");
  ASSERT_TRUE(marks.contains("logging.level"));
  EXPECT_EQ(marks["logging.level"].line, 1);
  EXPECT_EQ(marks["logging.level"].column, 9);
}

TEST(ConfigTest, DefaultConfigIsValid) {
  sluice::v1::Config c = DefaultConfig();
  EXPECT_TRUE(ValidateConfig(c).ok()) << ValidateConfig(c);
  EXPECT_EQ(c.server().http_listen(), "127.0.0.1:8080");
  EXPECT_EQ(c.server().grpc_listen(), "127.0.0.1:0");
  EXPECT_EQ(c.kafka().brokers(), "");
  EXPECT_EQ(c.kafka().usage_topic(), "sluice.usage");
  EXPECT_EQ(c.metering().sqlite_path(), "sluice-metering.db");
  EXPECT_EQ(c.metering().consumer_group(), "sluice-metering");
  ASSERT_EQ(c.providers_size(), 6);
  EXPECT_EQ(c.providers(0).name(), "sim");
  EXPECT_EQ(c.providers(0).base_url(), "http://127.0.0.1:8090/v1");
  EXPECT_EQ(c.providers(1).kind(), sluice::v1::PROVIDER_KIND_ANTHROPIC);
  EXPECT_EQ(c.providers(2).kind(), sluice::v1::PROVIDER_KIND_WORKER);
  EXPECT_EQ(c.providers(3).api_key_env(), "DEEPSEEK_API_KEY");
  EXPECT_EQ(c.providers(4).api_key_env(), "OPENAI_API_KEY");
  EXPECT_EQ(c.providers(5).api_key_env(), "ANTHROPIC_API_KEY");
  EXPECT_EQ(c.router().aliases(0).alias(), "chat-default");
  EXPECT_GE(c.models_size(), 4);
  ASSERT_EQ(c.routes_size(), 5);
  for (const auto& route : c.routes()) {
    EXPECT_TRUE(route.provider() == "sim" || route.provider() == "sim-anthropic" ||
                route.provider() == "local")
        << route.provider();
  }
  // The worker's model is the one `--worker-model` names (./dev up makes one).
  EXPECT_EQ(c.worker().model_path(), "");
  EXPECT_EQ(c.worker().model_name(), "local");
  ASSERT_EQ(c.tenants_size(), 1);
  EXPECT_EQ(c.tenants(0).name(), "demo");
  // printf %s sk-sluice-demo | sha256sum
  EXPECT_EQ(c.tenants(0).api_key_sha256s(0),
            "1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213");
  EXPECT_EQ(c.logging().level(), "info");
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/sluice_config_testXXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    std::remove(path().c_str());
    rmdir(dir_.c_str());
  }
  std::string path() const { return dir_ + "/config.yaml"; }

  std::string dir_;
};

TEST_F(ConfigFileTest, LoadsFileAndNamesItInErrors) {
  {
    std::ofstream out(path());
    out << kFullConfig;
  }
  absl::StatusOr<sluice::v1::Config> c = LoadConfigFile(path());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->providers(0).name(), "ds");
  {
    std::ofstream out(path());
    out << "logging:\n  levle: info\n";
  }
  absl::StatusOr<sluice::v1::Config> bad = LoadConfigFile(path());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()),
            absl::StrCat(path(),
                         ":2:3: logging.levle: unknown key (did you "
                         "mean \"level\"?)"));
}

TEST_F(ConfigFileTest, MissingFileIsNotFound) {
  absl::StatusOr<sluice::v1::Config> c = LoadConfigFile(dir_ + "/nope.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("nope.yaml"));
}

// What docker-compose publishes on port 8080 in front of real providers:
// it must load, and it must ship no usable key (keys are created with the
// CLI or the admin API after deployment).
TEST(ShippedConfigTest, TheDeploymentConfigLoadsAndShipsNoKey) {
  const char* source = std::getenv("SLUICE_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "run through ctest";
  absl::StatusOr<sluice::v1::Config> c =
      LoadConfigFile(absl::StrCat(source, "/deploy/sluice.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_GT(c->tenants_size(), 0);
  for (const auto& tenant : c->tenants()) {
    EXPECT_EQ(tenant.api_key_sha256s_size(), 0) << tenant.name();
  }
  EXPECT_EQ(c->admin().api_key_sha256s_size(), 0);
}

}  // namespace
}  // namespace sluice::config
