// Reads, maps and validates a config file (see config_loader.h).
#include "libs/config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "libs/config/yaml_to_proto.h"

namespace sluice::config {
namespace {

// The mark of `path` or of its nearest recorded ancestor: a missing
// "routes[2].provider" points at "routes[2]".
YAML::Mark FindMark(const PathMarks& marks, std::string path) {
  while (!path.empty()) {
    if (auto it = marks.find(path); it != marks.end()) return it->second;
    size_t cut = path.find_last_of(".[");
    path.resize(cut == std::string::npos ? 0 : cut);
  }
  return YAML::Mark::null_mark();
}

}  // namespace

absl::StatusOr<sluice::v1::Config> ParseConfig(absl::string_view yaml_text,
                                               absl::string_view source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(MarkPrefix(source_name, e.mark), e.msg));
  }
  sluice::v1::Config config;
  PathMarks marks;
  if (absl::Status s = YamlToMessage(root, &config, source_name, &marks);
      !s.ok()) {
    return s;
  }
  if (std::optional<ConfigIssue> issue = FindConfigIssue(config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(MarkPrefix(source_name, FindMark(marks, issue->path)),
                     issue->path, ": ", issue->problem));
  }
  return config;
}

absl::StatusOr<sluice::v1::Config> LoadConfigFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot read config file ", path,
                                            ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  }
  return ParseConfig(text.str(), path);
}

}  // namespace sluice::config
