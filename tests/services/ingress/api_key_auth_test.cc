// ApiKeyAuth: config keys (by SHA-256) and virtual keys from a real SQLite
// key store, by presented key or by stored hash; malformed headers and
// revoked keys are 401 invalid_api_key.
#include "services/ingress/api_key_auth.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "libs/hash/sha256.h"
#include "libs/keystore/cached_key_store.h"
#include "libs/keystore/key_store.h"
#include "libs/status/errors.h"
#include "services/ingress/request_admission.h"
#include "services/ingress/request_record.h"
#include "tests/services/ingress/collecting_reporter.h"
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

// What request threads may ask: memory's answer, or "the database must be
// asked" (nullopt), never a database call.
TEST_F(ApiKeyAuthTest, InMemoryAnswersWhatNeedsNoDatabase) {
  keystore::NewKey key = CreateKey("globex", {});
  // A plain store holds nothing in memory: its keys need the database.
  ApiKeyAuth plain(config_, store_.get());
  EXPECT_FALSE(plain.AuthenticateInMemory("Bearer " + key.secret).has_value());
  // Config keys and keys no lookup is spent on are answered at once.
  std::optional<absl::StatusOr<Caller>> config_key =
      plain.AuthenticateInMemory(std::string("Bearer ") + kAcmeKey);
  ASSERT_TRUE(config_key.has_value());
  ASSERT_TRUE(config_key->ok());
  EXPECT_EQ((*config_key)->tenant, "acme");
  std::optional<absl::StatusOr<Caller>> malformed =
      plain.AuthenticateInMemory("Basic nope");
  ASSERT_TRUE(malformed.has_value());
  ExpectInvalidApiKey(*malformed);
  std::optional<absl::StatusOr<Caller>> not_shaped =
      plain.AuthenticateInMemory("Bearer sk-nobody");
  ASSERT_TRUE(not_shaped.has_value());
  ExpectInvalidApiKey(*not_shaped);

  // A caching store answers its keys from memory; an unknown one needs the
  // database, until no lookup may be spent on it.
  keystore::CachedKeyStore::Options options;
  options.unknown_lookups_per_second = 1;
  keystore::CachedKeyStore cached(std::move(store_), options);
  ApiKeyAuth auth(config_, &cached);
  std::optional<absl::StatusOr<Caller>> held =
      auth.AuthenticateInMemory("Bearer " + key.secret);
  ASSERT_TRUE(held.has_value());
  ASSERT_TRUE(held->ok()) << held->status();
  EXPECT_EQ((*held)->key_id, key.record.id);
  const std::string unknown =
      "Bearer sk-sluice-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  EXPECT_FALSE(auth.AuthenticateInMemory(unknown).has_value());
  ExpectInvalidApiKey(auth.Authenticate(unknown));  // spends the one lookup
  std::optional<absl::StatusOr<Caller>> spent =
      auth.AuthenticateInMemory(unknown);
  ASSERT_TRUE(spent.has_value());
  ExpectInvalidApiKey(*spent);
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

TEST_F(ApiKeyAuthTest, AKeySetToBypassTheCacheCannotBeOverriddenByTheClient) {
  keystore::KeyPolicy bypass;
  bypass.cache = "bypass";
  keystore::NewKey bypassing = CreateKey("globex", bypass);
  keystore::NewKey plain = CreateKey("globex", {});
  ApiKeyAuth auth(config_, store_.get());
  CollectingReporter reporter;
  auto admitted_mode = [&](const keystore::NewKey& key, absl::string_view asked) {
    std::string authorization = "Bearer " + key.secret;
    RequestHeaders headers;
    headers.authorization = authorization;
    headers.cache = asked;
    sluice::v1::ChatRequest request;
    request.set_model("gpt-x");
    sluice::v1::Message* message = request.add_messages();
    message->set_role("user");
    message->set_text("hi");
    RequestRecord record(&reporter, "req-1", /*stream=*/false);
    absl::StatusOr<Caller> caller = AdmitChatRequest(auth, headers, request, record);
    EXPECT_TRUE(caller.ok()) << caller.status();
    record.Finish(200);
    return request.context().cache_mode();
  };
  for (absl::string_view asked : {"force", "refresh", "bypass", ""}) {
    EXPECT_EQ(admitted_mode(bypassing, asked), "bypass") << asked;
  }
  // Other keys: the client's header decides.
  EXPECT_EQ(admitted_mode(plain, "force"), "force");
  EXPECT_EQ(admitted_mode(plain, ""), "");
}

// A model name past any real one's length is refused before it reaches a
// log line, an error message or the usage event whole.
TEST_F(ApiKeyAuthTest, AnAbsurdlyLongModelIsRefusedAndNotRecordedWhole) {
  keystore::NewKey key = CreateKey("globex", {});
  ApiKeyAuth auth(config_, store_.get());
  CollectingReporter reporter;
  std::string authorization = "Bearer " + key.secret;
  RequestHeaders headers;
  headers.authorization = authorization;
  sluice::v1::ChatRequest request;
  request.set_model(std::string(4 << 20, 'm'));  // 4 MiB
  sluice::v1::Message* message = request.add_messages();
  message->set_role("user");
  message->set_text("hi");
  RequestRecord record(&reporter, "req-1", /*stream=*/false);
  absl::StatusOr<Caller> caller = AdmitChatRequest(auth, headers, request, record);
  ASSERT_FALSE(caller.ok());
  sluice::v1::Error error = status::ErrorFromStatus(caller.status());
  EXPECT_EQ(error.http_status(), 400);
  EXPECT_EQ(error.param(), "model");
  EXPECT_LT(caller.status().message().size(), 200u);
  EXPECT_EQ(record.event().model().size(), kMaxModelBytes);
  record.Finish(400);
  // The longest allowed name still passes validation.
  request.set_model(std::string(kMaxModelBytes, 'm'));
  EXPECT_TRUE(ValidateChatRequest(request).ok());
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

TEST_F(ApiKeyAuthTest, KeyHashOfIsTheLowerCaseHashOfTheBearerKey) {
  for (const std::string& header :
       {std::string("Bearer ") + kAcmeKey, std::string("bearer ") + kAcmeKey,
        std::string("  BEARER   ") + kAcmeKey + "  "}) {
    absl::StatusOr<std::string> hash = ApiKeyAuth::KeyHashOf(header);
    ASSERT_TRUE(hash.ok()) << "'" << header << "': " << hash.status();
    EXPECT_EQ(*hash, hash::Sha256Hex(kAcmeKey));
  }
  // Any key has a hash, known or not.
  absl::StatusOr<std::string> unknown = ApiKeyAuth::KeyHashOf("Bearer sk-x");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ(*unknown, hash::Sha256Hex("sk-x"));
  for (const std::string& header :
       {std::string(""), std::string("Bearer"), std::string(kAcmeKey),
        std::string("Basic ") + kAcmeKey}) {
    absl::StatusOr<std::string> hash = ApiKeyAuth::KeyHashOf(header);
    ASSERT_FALSE(hash.ok()) << "'" << header << "'";
    EXPECT_EQ(hash.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(status::ErrorFromStatus(hash.status()).code(), "invalid_api_key");
  }
}

TEST_F(ApiKeyAuthTest, KeyHashFindsConfigKeys) {
  ApiKeyAuth auth(config_, store_.get());
  absl::StatusOr<Caller> caller =
      auth.AuthenticateKeyHash(hash::Sha256Hex(kAcmeKey));
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->tenant, "acme");
  EXPECT_EQ(caller->key_id, hash::Sha256Hex(kAcmeKey).substr(0, 12));
  EXPECT_FALSE(caller->virtual_key);
  // Configured in upper case; found by the lower-case hash.
  caller = auth.AuthenticateKeyHash(hash::Sha256Hex(kGlobexKey));
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->tenant, "globex");
}

TEST_F(ApiKeyAuthTest, KeyHashFindsVirtualKeysWithTheirCurrentPolicy) {
  keystore::KeyPolicy policy;
  policy.models = {"gpt-x"};
  policy.rpm = 30;
  policy.priority = 2;
  keystore::NewKey key = CreateKey("globex", policy);
  ApiKeyAuth auth(config_, store_.get());

  absl::StatusOr<std::string> hash =
      ApiKeyAuth::KeyHashOf("Bearer " + key.secret);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_EQ(*hash, key.record.secret_sha256);
  absl::StatusOr<Caller> by_hash = auth.AuthenticateKeyHash(*hash);
  ASSERT_TRUE(by_hash.ok()) << by_hash.status();
  absl::StatusOr<Caller> by_secret = auth.Authenticate("Bearer " + key.secret);
  ASSERT_TRUE(by_secret.ok()) << by_secret.status();
  EXPECT_EQ(by_hash->tenant, "globex");
  EXPECT_EQ(by_hash->key_id, key.record.id);
  EXPECT_EQ(by_hash->key_id, by_secret->key_id);
  EXPECT_TRUE(by_hash->virtual_key);
  EXPECT_EQ(by_hash->policy.models, policy.models);
  EXPECT_EQ(by_hash->policy.rpm, 30);
  EXPECT_EQ(by_hash->policy.priority, 2);
}

TEST_F(ApiKeyAuthTest, KeyHashOfARevokedKeyIsUnauthenticated) {
  keystore::NewKey key = CreateKey("acme", {});
  keystore::NewKey other = CreateKey("acme", {});
  ApiKeyAuth auth(config_, store_.get());
  ASSERT_TRUE(auth.AuthenticateKeyHash(key.record.secret_sha256).ok());

  ASSERT_TRUE(store_->Revoke(key.record.id).ok());
  absl::StatusOr<Caller> revoked =
      auth.AuthenticateKeyHash(key.record.secret_sha256);
  ExpectInvalidApiKey(revoked);
  EXPECT_FALSE(
      absl::StrContains(revoked.status().message(), key.record.secret_sha256));
  EXPECT_TRUE(auth.AuthenticateKeyHash(other.record.secret_sha256).ok());
}

TEST_F(ApiKeyAuthTest, UnknownKeyHashesAreUnauthenticated) {
  ApiKeyAuth auth(config_, store_.get());
  ExpectInvalidApiKey(auth.AuthenticateKeyHash(hash::Sha256Hex("sk-nobody")));
  ExpectInvalidApiKey(auth.AuthenticateKeyHash(""));
  ExpectInvalidApiKey(auth.AuthenticateKeyHash("not a hash"));
  // A secret is not its hash.
  keystore::NewKey key = CreateKey("acme", {});
  ExpectInvalidApiKey(auth.AuthenticateKeyHash(key.secret));
  // Without a store only config keys are known.
  ApiKeyAuth config_only(config_, nullptr);
  ExpectInvalidApiKey(
      config_only.AuthenticateKeyHash(key.record.secret_sha256));
}

// Work sluice runs under a stored key names it by hash; the hash wins over
// any authorization header.
TEST_F(ApiKeyAuthTest, HeadersWithAKeyHashAuthenticateByIt) {
  keystore::NewKey key = CreateKey("globex", {});
  ApiKeyAuth auth(config_, store_.get());
  RequestHeaders headers;
  headers.key_sha256 = key.record.secret_sha256;
  absl::StatusOr<Caller> caller = AuthenticateHeaders(auth, headers);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->key_id, key.record.id);

  const std::string authorization = std::string("Bearer ") + kAcmeKey;
  headers.authorization = authorization;
  caller = AuthenticateHeaders(auth, headers);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->tenant, "globex");

  ASSERT_TRUE(store_->Revoke(key.record.id).ok());
  ExpectInvalidApiKey(AuthenticateHeaders(auth, headers));
  headers.key_sha256 = {};
  caller = AuthenticateHeaders(auth, headers);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->tenant, "acme");
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
