// ApiKeyAuth: config keys (by SHA-256) and virtual keys from a real SQLite
// key store; malformed headers and revoked keys are 401 invalid_api_key.
#include "services/ingress/api_key_auth.h"

#include <string>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "libs/hash/sha256.h"
#include "libs/keystore/key_store.h"
#include "libs/status/errors.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {
namespace {

constexpr char kAcmeKey[] = "sk-acme-config-key";
constexpr char kGlobexKey[] = "sk-globex-config-key";

sluice::v1::Config TestConfig() {
  sluice::v1::Config config;
  sluice::v1::TenantConfig* acme = config.add_tenants();
  acme->set_name("acme");
  acme->add_api_key_sha256s(hash::Sha256Hex(kAcmeKey));
  sluice::v1::TenantConfig* globex = config.add_tenants();
  globex->set_name("globex");
  // Hashes are matched whatever their case.
  globex->add_api_key_sha256s(
      absl::AsciiStrToUpper(hash::Sha256Hex(kGlobexKey)));
  return config;
}

void ExpectInvalidApiKey(const absl::StatusOr<Caller>& caller) {
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  sluice::v1::Error error = status::ErrorFromStatus(caller.status());
  EXPECT_EQ(error.http_status(), 401);
  EXPECT_EQ(error.code(), "invalid_api_key");
}

class ApiKeyAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<keystore::KeyStorePtr> store =
        keystore::OpenSqliteKeyStore(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  keystore::NewKey CreateKey(const std::string& tenant,
                             const keystore::KeyPolicy& policy) {
    absl::StatusOr<keystore::NewKey> key =
        store_->Create(tenant, "test key", policy);
    EXPECT_TRUE(key.ok()) << key.status();
    return key.ok() ? *key : keystore::NewKey{};
  }

  sluice::v1::Config config_ = TestConfig();
  keystore::KeyStorePtr store_;
};

TEST_F(ApiKeyAuthTest, ConfigKeyMapsToItsTenant) {
  ApiKeyAuth auth(config_, nullptr);
  absl::StatusOr<Caller> caller =
      auth.Authenticate(std::string("Bearer ") + kAcmeKey);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->tenant, "acme");
  EXPECT_EQ(caller->key_id, hash::Sha256Hex(kAcmeKey).substr(0, 12));
  EXPECT_FALSE(caller->virtual_key);
  EXPECT_TRUE(caller->policy.models.empty());
  EXPECT_EQ(caller->policy.rpm, 0);

  caller = auth.Authenticate(std::string("Bearer ") + kGlobexKey);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->tenant, "globex");
}

TEST_F(ApiKeyAuthTest, SchemeIsCaseInsensitiveAndWhitespaceIsTrimmed) {
  ApiKeyAuth auth(config_, nullptr);
  for (const std::string& header :
       {std::string("bearer ") + kAcmeKey, std::string("BEARER ") + kAcmeKey,
        std::string("  Bearer   ") + kAcmeKey + "  "}) {
    absl::StatusOr<Caller> caller = auth.Authenticate(header);
    ASSERT_TRUE(caller.ok()) << "'" << header << "': " << caller.status();
    EXPECT_EQ(caller->tenant, "acme");
  }
}

TEST_F(ApiKeyAuthTest, MalformedHeadersAreUnauthenticated) {
  ApiKeyAuth auth(config_, store_.get());
  for (const std::string& header :
       {std::string(""), std::string("   "), std::string("Bearer"),
        std::string("Bearer    "), std::string(kAcmeKey),
        std::string("Basic ") + kAcmeKey, std::string("Bearer") + kAcmeKey,
        std::string("Token ") + kAcmeKey}) {
    SCOPED_TRACE("'" + header + "'");
    ExpectInvalidApiKey(auth.Authenticate(header));
  }
}

TEST_F(ApiKeyAuthTest, UnknownKeysAreUnauthenticated) {
  ApiKeyAuth auth(config_, store_.get());
  ExpectInvalidApiKey(auth.Authenticate("Bearer sk-nobody"));
  // The shape of a virtual key, but not in the store.
  ExpectInvalidApiKey(
      auth.Authenticate("Bearer sk-sluice-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  // The hash itself is not a key.
  ExpectInvalidApiKey(auth.Authenticate("Bearer " + hash::Sha256Hex(kAcmeKey)));
}

TEST_F(ApiKeyAuthTest, VirtualKeyMapsToTenantIdAndPolicy) {
  keystore::KeyPolicy policy;
  policy.models = {"gpt-x"};
  policy.rpm = 30;
  policy.tpm = 5000;
  policy.budget_micro_usd = 1'000'000;
  policy.priority = 2;
  policy.cache = "bypass";
  keystore::NewKey key = CreateKey("globex", policy);
  ApiKeyAuth auth(config_, store_.get());

  absl::StatusOr<Caller> caller = auth.Authenticate("Bearer " + key.secret);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->tenant, "globex");
  EXPECT_EQ(caller->key_id, key.record.id);
  EXPECT_TRUE(caller->virtual_key);
  EXPECT_EQ(caller->policy.models, policy.models);
  EXPECT_EQ(caller->policy.rpm, 30);
  EXPECT_EQ(caller->policy.tpm, 5000);
  EXPECT_EQ(caller->policy.budget_micro_usd, 1'000'000);
  EXPECT_EQ(caller->policy.priority, 2);
  EXPECT_EQ(caller->policy.cache, "bypass");
}

TEST_F(ApiKeyAuthTest, VirtualKeysNeedAStore) {
  keystore::NewKey key = CreateKey("acme", {});
  ApiKeyAuth auth(config_, nullptr);
  ExpectInvalidApiKey(auth.Authenticate("Bearer " + key.secret));
}

TEST_F(ApiKeyAuthTest, RevokedKeyIsUnauthenticated) {
  keystore::NewKey key = CreateKey("acme", {});
  keystore::NewKey other = CreateKey("acme", {});
  ApiKeyAuth auth(config_, store_.get());
  ASSERT_TRUE(auth.Authenticate("Bearer " + key.secret).ok());

  ASSERT_TRUE(store_->Revoke(key.record.id).ok());
  ExpectInvalidApiKey(auth.Authenticate("Bearer " + key.secret));
  // Only that key.
  absl::StatusOr<Caller> caller = auth.Authenticate("Bearer " + other.secret);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->key_id, other.record.id);
}

TEST_F(ApiKeyAuthTest, ConfigKeysStillWorkBesideAStore) {
  CreateKey("acme", {});
  ApiKeyAuth auth(config_, store_.get());
  absl::StatusOr<Caller> caller =
      auth.Authenticate(std::string("Bearer ") + kGlobexKey);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->tenant, "globex");
  EXPECT_FALSE(caller->virtual_key);
}

TEST(CallerTest, EmptyModelListMayUseEveryModel) {
  Caller caller;
  EXPECT_TRUE(caller.MayUse("gpt-x"));
  EXPECT_TRUE(caller.MayUse(""));
}

TEST(CallerTest, ModelListIsExact) {
  Caller caller;
  caller.policy.models = {"gpt-x", "fast"};
  EXPECT_TRUE(caller.MayUse("gpt-x"));
  EXPECT_TRUE(caller.MayUse("fast"));
  EXPECT_FALSE(caller.MayUse("gpt-y"));
  EXPECT_FALSE(caller.MayUse("GPT-X"));
  EXPECT_FALSE(caller.MayUse("gpt"));
}

}  // namespace
}  // namespace sluice::ingress
