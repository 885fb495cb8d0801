// Owning handles for libpq's connection and result objects.
#pragma once

#include <libpq-fe.h>

#include <memory>

namespace sluice::pq {

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;

}  // namespace sluice::pq
