// The key store suites on a SQLite file.
#include "tests/libs/keystore/key_store_suite.h"

namespace sluice::keystore {

INSTANTIATE_TEST_SUITE_P(Sqlite, KeyStoreTest,
                         ::testing::Values(SqliteBackend()));
INSTANTIATE_TEST_SUITE_P(Sqlite, CachedKeyStoreTest,
                         ::testing::Values(SqliteBackend()));

}  // namespace sluice::keystore
