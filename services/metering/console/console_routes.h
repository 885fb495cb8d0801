// Serves the operator console under /console: the page at /console (and
// /console/), its files at /console/<name>. The page reads its data from
// the gateway's usage API with the admin key the operator types in; the
// files themselves hold no data.
#pragma once

#include "libs/http/path_router.h"

namespace sluice::console {

void AddConsoleRoutes(http::PathRouter& paths);

}  // namespace sluice::console
