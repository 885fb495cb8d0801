// OpenAI's Files and Batches endpoints, as the official SDKs call them:
//   POST /v1/files (multipart: purpose=batch, file), GET /v1/files,
//   GET /v1/files/{id}, GET /v1/files/{id}/content,
//   POST /v1/batches, GET /v1/batches (?limit, ?after), GET /v1/batches/{id},
//   POST /v1/batches/{id}/cancel,
// and, only when the config asks for a manual clock (tests), POST
// /admin/clock {"advance_seconds"} or {"unix_seconds"} with an admin key.
// Every object belongs to the tenant of the key that made it: another
// tenant's id is 404, exactly like one that does not exist.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <optional>
#include <string>

#include "libs/host/clock.h"
#include "libs/http/path_router.h"
#include "libs/http/server.h"
#include "services/ingress/admin_api.h"
#include "services/ingress/api_key_auth.h"
#include "services/ingress/batch_runner.h"
#include "services/ingress/batch_store.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

struct BatchApiLimits {
  int64_t max_file_lines = 50000;
  int64_t max_file_bytes = 200 * 1024 * 1024;

  static BatchApiLimits FromConfig(const sluice::v1::JobsConfig& config);
};

class BatchApi {
 public:
  // All must outlive this. `manual_clock` is null unless the config asks
  // for one (then /admin/clock moves it).
  BatchApi(const sluice::v1::Config& config, const ApiKeyAuth* auth,
           const AdminApi* admin, BatchStore* store, BatchRunner* runner,
           const host::Clock* clock, host::ManualClock* manual_clock);
  // Waits for the requests being handled.
  ~BatchApi() { pool_.join(); }

  void AddRoutes(http::PathRouter& paths);

 private:
  using Handler = void (BatchApi::*)(const http::Request&, http::ResponseWriter&);
  // Runs `handler` on the API's own threads: the store's work (a 200 MB
  // file, a long listing) never blocks an I/O thread.
  http::Handler OffIo(Handler handler);
  void UploadFile(const http::Request& request, http::ResponseWriter& writer);
  void ListFiles(const http::Request& request, http::ResponseWriter& writer);
  // GET /v1/files/{id} and /v1/files/{id}/content.
  void GetFile(const http::Request& request, http::ResponseWriter& writer);
  void DeleteFile(const http::Request& request, http::ResponseWriter& writer);
  void CreateBatch(const http::Request& request, http::ResponseWriter& writer);
  void ListBatches(const http::Request& request, http::ResponseWriter& writer);
  void GetBatch(const http::Request& request, http::ResponseWriter& writer);
  void CancelBatch(const http::Request& request, http::ResponseWriter& writer);
  void MoveClock(const http::Request& request, http::ResponseWriter& writer);

  const ApiKeyAuth* auth_;
  const AdminApi* admin_;
  BatchStore* store_;
  BatchRunner* runner_;
  const host::Clock* clock_;
  host::ManualClock* manual_clock_;
  BatchApiLimits limits_;
  boost::asio::thread_pool pool_{2};
};

}  // namespace sluice::ingress
