#include "services/ingress/key_store_setup.h"

#include <filesystem>

namespace sluice::ingress {

std::string BesideMetering(const sluice::v1::Config& config,
                           const std::string& file) {
  const std::string& metering = config.metering().sqlite_path();
  if (metering == ":memory:") return ":memory:";
  if (metering.empty()) return file;
  return (std::filesystem::path(metering).parent_path() / file).string();
}

std::string KeyStoreLocation(const sluice::v1::Config& config) {
  if (!config.keys().postgres_dsn().empty()) return "postgres";
  if (!config.keys().sqlite_path().empty()) return config.keys().sqlite_path();
  return BesideMetering(config, "sluice-keys.db");
}

absl::StatusOr<keystore::KeyStorePtr> OpenConfiguredKeyStore(
    const sluice::v1::Config& config) {
  if (!config.keys().postgres_dsn().empty()) {
    return keystore::OpenPostgresKeyStore(config.keys().postgres_dsn());
  }
  return keystore::OpenSqliteKeyStore(KeyStoreLocation(config));
}

}  // namespace sluice::ingress
