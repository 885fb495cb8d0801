// Databases the key store suites run against: a SQLite file in a temporary
// directory, or a fresh schema on the PostgreSQL server named by
// SLUICE_TEST_POSTGRES. Each can open several stores over the same data
// (replicas) and read back what is stored, bypassing the store.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "libs/keystore/key_store.h"

namespace sluice::keystore {

class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  // A new store (its own connection) over this database.
  virtual absl::StatusOr<KeyStorePtr> Open() = 0;
  // Every stored row, as text; for SQLite also the raw database files.
  virtual absl::StatusOr<std::string> DumpAll() = 0;
  // The key_hash column of key `id`.
  virtual absl::StatusOr<std::string> StoredHash(const std::string& id) = 0;
  // The config's `keys:` for a gateway over this database (flow YAML).
  virtual std::string KeysConfigYaml() const = 0;
};

// A suite parameter: how to get a database, or why this run cannot.
struct TestBackend {
  std::string name;
  std::function<std::string()> skip_reason;  // empty: runnable
  std::function<absl::StatusOr<std::unique_ptr<TestDatabase>>()> make;
};

inline void PrintTo(const TestBackend& b, std::ostream* os) { *os << b.name; }

TestBackend SqliteBackend();
TestBackend PostgresBackend();

// The port of the PostgreSQL server SLUICE_TEST_POSTGRES names; 0 if none.
uint16_t TestPostgresPort();

}  // namespace sluice::keystore
