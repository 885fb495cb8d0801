#include "tests/integration/freezable_key_database.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace sluice::testing {

absl::StatusOr<FreezableKeyDatabase> StartFreezableKeyDatabase() {
  keystore::TestBackend postgres = keystore::PostgresBackend();
  if (std::string why = postgres.skip_reason(); !why.empty()) {
    return absl::FailedPreconditionError(why);
  }
  const uint16_t port = keystore::TestPostgresPort();
  if (port == 0) {
    return absl::FailedPreconditionError(
        "SLUICE_TEST_POSTGRES names no port");
  }
  absl::StatusOr<std::unique_ptr<keystore::TestDatabase>> database =
      postgres.make();
  if (!database.ok()) return database.status();
  absl::StatusOr<std::unique_ptr<TcpProxy>> proxy = TcpProxy::Start(port);
  if (!proxy.ok()) return proxy.status();
  FreezableKeyDatabase frozen;
  frozen.keys_yaml = absl::StrReplaceAll(
      (*database)->KeysConfigYaml(),
      {{absl::StrCat("port=", port), absl::StrCat("port=", (*proxy)->port())}});
  if (frozen.keys_yaml == (*database)->KeysConfigYaml()) {
    return absl::InternalError("the key store's DSN names no port");
  }
  frozen.database = *std::move(database);
  frozen.proxy = *std::move(proxy);
  return frozen;
}

}  // namespace sluice::testing
