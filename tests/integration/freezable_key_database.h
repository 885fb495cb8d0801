// A key store in the PostgreSQL server SLUICE_TEST_POSTGRES names (a fresh
// schema), reached through a loopback proxy that can hold every byte, as
// a paused server would: for tests of a key database that stops answering.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/libs/keystore/test_database.h"
#include "tests/support/tcp_proxy.h"

namespace sluice::testing {

struct FreezableKeyDatabase {
  std::unique_ptr<keystore::TestDatabase> database;
  std::unique_ptr<TcpProxy> proxy;  // Freeze() / Thaw()
  // GatewayOptions::keys for a gateway that reaches it through the proxy.
  std::string keys_yaml;
};

// FAILED_PRECONDITION when SLUICE_TEST_POSTGRES is not set (./dev test
// sets it).
absl::StatusOr<FreezableKeyDatabase> StartFreezableKeyDatabase();

}  // namespace sluice::testing
