// Opens the key store the config names (`keys`): PostgreSQL, a SQLite file,
// or by default a SQLite file beside the metering database, so that
// `sluice serve` and `sluice keys` with the same config share it.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "libs/keystore/key_store.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

// `file` in the metering database's folder (":memory:" when that is in
// memory): where the embedded stores go by default.
std::string BesideMetering(const sluice::v1::Config& config,
                           const std::string& file);

// Where keys live, for messages: "postgres" or the SQLite path.
std::string KeyStoreLocation(const sluice::v1::Config& config);

absl::StatusOr<keystore::KeyStorePtr> OpenConfiguredKeyStore(
    const sluice::v1::Config& config);

}  // namespace sluice::ingress
