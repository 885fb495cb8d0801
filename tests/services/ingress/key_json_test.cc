// Virtual keys in JSON: parsing and checking a create request (each bad
// field is a 400 that names it), and a key as the admin API shows it.
#include "services/ingress/key_json.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/keystore/key_store.h"
#include "libs/status/errors.h"
#include "rapidjson/document.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {
namespace {

// The `param` of the OpenAI error a 400 carries; fails the test unless the
// status is INVALID_ARGUMENT.
std::string BadParam(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  sluice::v1::Error error = status::ErrorFromStatus(status);
  EXPECT_EQ(error.http_status(), 400) << status;
  EXPECT_EQ(error.type(), "invalid_request_error") << status;
  return error.param();
}

std::string BadParamOf(absl::string_view body) {
  absl::StatusOr<NewKeyRequest> request = ParseNewKeyRequest(body);
  if (request.ok()) {
    ADD_FAILURE() << "accepted: " << body;
    return "<accepted>";
  }
  return BadParam(request.status());
}

rapidjson::Document Parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return doc;
}

TEST(ParseNewKeyRequestTest, ReadsEveryField) {
  absl::StatusOr<NewKeyRequest> request = ParseNewKeyRequest(R"({
      "tenant": "acme", "name": "ci", "models": ["gpt-x", "fast"],
      "rpm": 60, "tpm": 10000, "budget_usd": 1.25, "priority": -2,
      "cache": "bypass", "unknown_field": {"ignored": true}})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->tenant, "acme");
  EXPECT_EQ(request->name, "ci");
  EXPECT_EQ(request->policy.models,
            (std::vector<std::string>{"gpt-x", "fast"}));
  EXPECT_EQ(request->policy.rpm, 60);
  EXPECT_EQ(request->policy.tpm, 10000);
  EXPECT_EQ(request->policy.budget_micro_usd, 1'250'000);
  EXPECT_EQ(request->policy.priority, -2);
  EXPECT_EQ(request->policy.cache, "bypass");
}

TEST(ParseNewKeyRequestTest, OnlyTheTenantIsRequired) {
  absl::StatusOr<NewKeyRequest> request =
      ParseNewKeyRequest(R"({"tenant": "acme"})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->tenant, "acme");
  EXPECT_TRUE(request->name.empty());
  EXPECT_TRUE(request->policy.models.empty());
  EXPECT_EQ(request->policy.rpm, 0);
  EXPECT_EQ(request->policy.tpm, 0);
  EXPECT_EQ(request->policy.budget_micro_usd, 0);
  EXPECT_EQ(request->policy.priority, 0);
  EXPECT_TRUE(request->policy.cache.empty());
}

TEST(ParseNewKeyRequestTest, BudgetIsRoundedToWholeMicroDollars) {
  absl::StatusOr<NewKeyRequest> request =
      ParseNewKeyRequest(R"({"tenant": "acme", "budget_usd": 0.1234567})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->policy.budget_micro_usd, 123457);
  EXPECT_EQ(*BudgetMicroUsd(0.29), 290000);  // not 289999
  EXPECT_EQ(*BudgetMicroUsd(10), 10'000'000);
}

TEST(ParseNewKeyRequestTest, BodyMustBeAJsonObject) {
  for (absl::string_view body : {"", "not json", "[]", "\"acme\"", "{"}) {
    absl::StatusOr<NewKeyRequest> request = ParseNewKeyRequest(body);
    ASSERT_FALSE(request.ok()) << body;
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ParseNewKeyRequestTest, MissingOrEmptyTenantNamesTenant) {
  EXPECT_EQ(BadParamOf(R"({"name": "ci"})"), "tenant");
  EXPECT_EQ(BadParamOf(R"({"tenant": ""})"), "tenant");
}

TEST(ParseNewKeyRequestTest, EachBadFieldIsNamed) {
  struct Case {
    const char* body;
    const char* param;
  };
  const Case cases[] = {
      {R"({"tenant": 7})", "tenant"},
      {R"({"tenant": "acme", "name": ["ci"]})", "name"},
      {R"({"tenant": "acme", "cache": true})", "cache"},
      {R"({"tenant": "acme", "models": "gpt-x"})", "models"},
      {R"({"tenant": "acme", "models": ["gpt-x", 3]})", "models"},
      {R"({"tenant": "acme", "models": [""]})", "models"},
      {R"({"tenant": "acme", "rpm": 1.5})", "rpm"},
      {R"({"tenant": "acme", "rpm": "60"})", "rpm"},
      {R"({"tenant": "acme", "tpm": null})", "tpm"},
      {R"({"tenant": "acme", "budget_usd": -0.01})", "budget_usd"},
      {R"({"tenant": "acme", "budget_usd": "10"})", "budget_usd"},
      {R"({"tenant": "acme", "priority": 1.5})", "priority"},
      {R"({"tenant": "acme", "priority": "high"})", "priority"},
      {R"({"tenant": "acme", "priority": 3000000000})", "priority"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(BadParamOf(c.body), c.param) << c.body;
  }
}

// A finite budget too large for micro-USD in 64 bits must not wrap
// around (a negative budget would mean none).
TEST(ParseNewKeyRequestTest, HugeBudgetIsRefused) {
  absl::StatusOr<NewKeyRequest> request =
      ParseNewKeyRequest(R"({"tenant": "acme", "budget_usd": 1e20})");
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(BadParam(request.status()), "budget_usd");
}

class CheckNewKeyRequestTest : public ::testing::Test {
 protected:
  CheckNewKeyRequestTest() {
    config_.add_tenants()->set_name("acme");
    config_.add_tenants()->set_name("globex");
    sluice::v1::RouteConfig* route = config_.add_routes();
    route->set_model("gpt-x");
    route->set_provider("sim");
    sluice::v1::ModelAlias* alias = config_.mutable_router()->add_aliases();
    alias->set_alias("fast");
    alias->set_model("gpt-x");
  }

  NewKeyRequest Request(std::vector<std::string> models = {},
                        std::string cache = "") {
    NewKeyRequest request;
    request.tenant = "acme";
    request.policy.models = std::move(models);
    request.policy.cache = std::move(cache);
    return request;
  }

  sluice::v1::Config config_;
};

TEST_F(CheckNewKeyRequestTest, AcceptsRoutesAndAliases) {
  EXPECT_TRUE(CheckNewKeyRequest(Request(), config_).ok());
  EXPECT_TRUE(CheckNewKeyRequest(Request({"gpt-x", "fast"}), config_).ok());
  NewKeyRequest other = Request();
  other.tenant = "globex";
  EXPECT_TRUE(CheckNewKeyRequest(other, config_).ok());
}

TEST_F(CheckNewKeyRequestTest, NegativeLimitsNameTheField) {
  NewKeyRequest request = Request();
  request.policy.rpm = -1;
  EXPECT_EQ(BadParam(CheckNewKeyRequest(request, config_)), "rpm");
  request.policy.rpm = 0;
  request.policy.tpm = -5;
  EXPECT_EQ(BadParam(CheckNewKeyRequest(request, config_)), "tpm");
}

TEST_F(CheckNewKeyRequestTest, UnknownTenantNamesTenant) {
  NewKeyRequest request = Request();
  request.tenant = "initech";
  EXPECT_EQ(BadParam(CheckNewKeyRequest(request, config_)), "tenant");
}

TEST_F(CheckNewKeyRequestTest, UnknownModelNamesModels) {
  absl::Status status =
      CheckNewKeyRequest(Request({"gpt-x", "gpt-nope"}), config_);
  EXPECT_EQ(BadParam(status), "models");
  EXPECT_NE(status.message().find("gpt-nope"), absl::string_view::npos)
      << status;
  // "provider/model" is not a public name.
  EXPECT_EQ(BadParam(CheckNewKeyRequest(Request({"sim/gpt-x"}), config_)),
            "models");
}

TEST_F(CheckNewKeyRequestTest, CacheMustBeEmptyBypassOrRefresh) {
  EXPECT_TRUE(CheckNewKeyRequest(Request({}, "bypass"), config_).ok());
  EXPECT_TRUE(CheckNewKeyRequest(Request({}, "refresh"), config_).ok());
  EXPECT_EQ(BadParam(CheckNewKeyRequest(Request({}, "always"), config_)),
            "cache");
  EXPECT_EQ(BadParam(CheckNewKeyRequest(Request({}, "Bypass"), config_)),
            "cache");
}

keystore::KeyRecord Record() {
  keystore::KeyRecord record;
  record.id = "key_0123456789ab";
  record.tenant = "acme";
  record.name = "ci \"bot\"";
  record.last4 = "wxyz";
  record.policy.models = {"gpt-x", "fast"};
  record.policy.rpm = 60;
  record.policy.tpm = 1000;
  record.policy.budget_micro_usd = 2'500'000;
  record.policy.priority = 3;
  record.policy.cache = "refresh";
  record.created = absl::FromUnixSeconds(1'700'000'000);
  return record;
}

TEST(KeyJsonTest, ShowsEveryFieldButTheSecret) {
  rapidjson::Document doc = Parse(KeyJson(Record()));
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["object"].GetString(), "api_key");
  EXPECT_STREQ(doc["id"].GetString(), "key_0123456789ab");
  EXPECT_FALSE(doc.HasMember("key"));
  EXPECT_STREQ(doc["tenant"].GetString(), "acme");
  EXPECT_STREQ(doc["name"].GetString(), "ci \"bot\"");
  EXPECT_STREQ(doc["last4"].GetString(), "wxyz");
  ASSERT_TRUE(doc["models"].IsArray());
  ASSERT_EQ(doc["models"].Size(), 2u);
  EXPECT_STREQ(doc["models"][0].GetString(), "gpt-x");
  EXPECT_STREQ(doc["models"][1].GetString(), "fast");
  EXPECT_EQ(doc["rpm"].GetInt64(), 60);
  EXPECT_EQ(doc["tpm"].GetInt64(), 1000);
  EXPECT_DOUBLE_EQ(doc["budget_usd"].GetDouble(), 2.5);
  EXPECT_EQ(doc["priority"].GetInt(), 3);
  EXPECT_STREQ(doc["cache"].GetString(), "refresh");
  EXPECT_EQ(doc["created"].GetInt64(), 1'700'000'000);
  EXPECT_TRUE(doc["revoked"].IsNull());
}

TEST(KeyJsonTest, RevokedIsTheRevocationTime) {
  keystore::KeyRecord record = Record();
  record.revoked = absl::FromUnixSeconds(1'700'000'123);
  rapidjson::Document doc = Parse(KeyJson(record));
  ASSERT_TRUE(doc["revoked"].IsInt64());
  EXPECT_EQ(doc["revoked"].GetInt64(), 1'700'000'123);
}

TEST(KeyJsonTest, SecretOnlyWhenGiven) {
  rapidjson::Document doc = Parse(KeyJson(Record(), "sk-sluice-secret"));
  ASSERT_TRUE(doc.HasMember("key"));
  EXPECT_STREQ(doc["key"].GetString(), "sk-sluice-secret");
  EXPECT_FALSE(Parse(KeyJson(Record(), "")).HasMember("key"));
}

TEST(KeyJsonTest, KeyFromAStoreRoundTrips) {
  absl::StatusOr<keystore::KeyStorePtr> store =
      keystore::OpenSqliteKeyStore(":memory:");
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<NewKeyRequest> request = ParseNewKeyRequest(
      R"({"tenant": "acme", "name": "ci", "budget_usd": 0.5, "rpm": 7})");
  ASSERT_TRUE(request.ok()) << request.status();
  absl::StatusOr<keystore::NewKey> key =
      (*store)->Create(request->tenant, request->name, request->policy);
  ASSERT_TRUE(key.ok()) << key.status();
  rapidjson::Document doc = Parse(KeyJson(key->record, key->secret));
  EXPECT_EQ(std::string(doc["key"].GetString()), key->secret);
  EXPECT_EQ(std::string(doc["id"].GetString()), key->record.id);
  EXPECT_EQ(std::string(doc["last4"].GetString()),
            key->secret.substr(key->secret.size() - 4));
  EXPECT_DOUBLE_EQ(doc["budget_usd"].GetDouble(), 0.5);
  EXPECT_EQ(doc["rpm"].GetInt64(), 7);
}

TEST(KeyListJsonTest, ListsEveryKeyWithoutSecrets) {
  keystore::KeyRecord revoked = Record();
  revoked.id = "key_ffffffffffff";
  revoked.revoked = absl::FromUnixSeconds(1'700'000'500);
  rapidjson::Document doc = Parse(KeyListJson({Record(), revoked}));
  EXPECT_STREQ(doc["object"].GetString(), "list");
  ASSERT_TRUE(doc["data"].IsArray());
  ASSERT_EQ(doc["data"].Size(), 2u);
  EXPECT_STREQ(doc["data"][0]["id"].GetString(), "key_0123456789ab");
  EXPECT_TRUE(doc["data"][0]["revoked"].IsNull());
  EXPECT_STREQ(doc["data"][1]["id"].GetString(), "key_ffffffffffff");
  EXPECT_EQ(doc["data"][1]["revoked"].GetInt64(), 1'700'000'500);
  for (const auto& key : doc["data"].GetArray()) {
    EXPECT_FALSE(key.HasMember("key"));
  }
}

TEST(KeyListJsonTest, EmptyListHasEmptyData) {
  rapidjson::Document doc = Parse(KeyListJson({}));
  ASSERT_TRUE(doc["data"].IsArray());
  EXPECT_EQ(doc["data"].Size(), 0u);
}

}  // namespace
}  // namespace sluice::ingress

namespace sluice::ingress {
namespace {

TEST(RevokedKeyJsonTest, TheIdIsEscaped) {
  std::string json = RevokedKeyJson("key_\"x\\");
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_STREQ(doc["id"].GetString(), "key_\"x\\");
  EXPECT_TRUE(doc["revoked"].GetBool());
}

}  // namespace
}  // namespace sluice::ingress
