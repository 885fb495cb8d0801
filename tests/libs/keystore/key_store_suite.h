// The key store suites, parameterized by database; each test binary
// instantiates them for one backend (sqlite_key_store_test.cc,
// postgres_key_store_test.cc).
#pragma once

#include <memory>

#include "gtest/gtest.h"
#include "libs/keystore/key_store.h"
#include "tests/libs/keystore/test_database.h"

namespace sluice::keystore {

class KeyStoreTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  void SetUp() override {
    if (std::string why = GetParam().skip_reason(); !why.empty()) {
      GTEST_FAIL() << why;
    }
    auto db = GetParam().make();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto store = db_->Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  std::unique_ptr<TestDatabase> db_;
  KeyStorePtr store_;  // declared after db_: closed before the database goes
};

// Same fixture; the CachedKeyStore tests.
class CachedKeyStoreTest : public KeyStoreTest {};

}  // namespace sluice::keystore
