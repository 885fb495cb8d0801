// Secret and id formats, and the models column encoding.
#include "libs/keystore/key_secret.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "libs/keystore/key_columns.h"

namespace sluice::keystore {
namespace {

TEST(KeySecretTest, SecretsHaveThePrefixAndUrlSafeCharacters) {
  std::set<std::string> seen;
  std::set<char> chars;
  for (int i = 0; i < 1000; ++i) {
    std::string s = NewKeySecret();
    ASSERT_TRUE(absl::StartsWith(s, "sk-sluice-")) << s;
    ASSERT_EQ(s.size(), 42u);
    ASSERT_TRUE(LooksLikeKeySecret(s)) << s;
    chars.insert(s.begin() + 10, s.end());
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(chars.size(), 64u);  // 32000 draws cover the whole alphabet
  for (char c : chars) {
    EXPECT_TRUE(absl::ascii_isalnum(c) || c == '-' || c == '_') << c;
  }
}

TEST(KeySecretTest, IdsAreKeyAndTwelveHex) {
  std::string id = NewKeyId();
  ASSERT_TRUE(absl::StartsWith(id, "key_"));
  ASSERT_EQ(id.size(), 16u);
  for (char c : id.substr(4)) {
    EXPECT_TRUE(absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f')) << id;
  }
  EXPECT_NE(NewKeyId(), NewKeyId());
}

TEST(KeySecretTest, LooksLikeKeySecretRejectsOtherShapes) {
  std::string good = NewKeySecret();
  EXPECT_FALSE(LooksLikeKeySecret(""));
  EXPECT_FALSE(LooksLikeKeySecret(good.substr(0, 41)));
  EXPECT_FALSE(LooksLikeKeySecret(good + "x"));
  EXPECT_FALSE(LooksLikeKeySecret("sk-sluicE-" + good.substr(10)));
  std::string bad_char = good;
  bad_char[20] = '+';
  EXPECT_FALSE(LooksLikeKeySecret(bad_char));
}

TEST(KeyColumnsTest, ModelsRoundTripThroughJson) {
  std::vector<std::string> models = {"a", "b,c", "quote\"d", "ünï"};
  auto decoded = DecodeModels(EncodeModels(models));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, models);
  EXPECT_EQ(EncodeModels({}), "[]");
  EXPECT_FALSE(DecodeModels("{}").ok());
  EXPECT_FALSE(DecodeModels("[1]").ok());
}

}  // namespace
}  // namespace sluice::keystore
