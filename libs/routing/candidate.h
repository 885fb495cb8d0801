// One way to serve a request: a provider and the model it is asked for,
// with the catalog's spec of that model.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "sluice/v1/config.pb.h"

namespace sluice::routing {

struct Candidate {
  std::string provider;
  std::string model;
  double weight = 1;  // for the weighted strategy; <= 0 counts as 1
  const sluice::v1::ModelSpec* spec = nullptr;  // not owned; may be null

  // "provider/model", the key of the HealthBoard.
  std::string route() const { return absl::StrCat(provider, "/", model); }
};

}  // namespace sluice::routing
