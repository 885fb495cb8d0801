// The operator console's files (page, script, styles and the chart library
// bundled from npm at build time), compiled into the binary: no CDN, no
// files to deploy beside it.
#pragma once

#include <string_view>
#include <vector>

namespace sluice::console {

struct EmbeddedFile {
  std::string_view name;  // "index.html", "console.js", ...
  std::string_view body;
};

// Generated from services/metering/console/ and the uPlot package.
const std::vector<EmbeddedFile>& EmbeddedFiles();

}  // namespace sluice::console
