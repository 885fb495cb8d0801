// The key store suites on PostgreSQL (SLUICE_TEST_POSTGRES); skipped when
// the variable is unset.
#include "tests/libs/keystore/key_store_suite.h"

namespace sluice::keystore {

INSTANTIATE_TEST_SUITE_P(Postgres, KeyStoreTest,
                         ::testing::Values(PostgresBackend()));
INSTANTIATE_TEST_SUITE_P(Postgres, CachedKeyStoreTest,
                         ::testing::Values(PostgresBackend()));

}  // namespace sluice::keystore
