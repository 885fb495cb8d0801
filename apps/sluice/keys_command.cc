#include "apps/sluice/keys_command.h"

#include <cstdio>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/host/host_options.h"
#include "services/ingress/key_json.h"
#include "services/ingress/key_store_setup.h"

namespace sluice::app {
namespace {

constexpr char kUsage[] =
    "usage: sluice keys create --tenant T [--name N] [--models a,b] [--rpm N]\n"
    "                          [--tpm N] [--budget-usd X] [--priority N]\n"
    "                          [--cache bypass|refresh]\n"
    "       sluice keys list [--tenant T]\n"
    "       sluice keys revoke KEY_ID\n"
    "  each with [--config FILE] [--sqlite-path FILE]\n";

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "sluice keys: %s\n",
               std::string(status.message()).c_str());
  return 1;
}

int Usage(const std::string& problem) {
  std::fprintf(stderr, "sluice keys: %s\n%s", problem.c_str(), kUsage);
  return 2;
}

absl::StatusOr<int64_t> Count(const std::string& flag,
                              const std::string& value) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(value, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " expects an integer, got \"", value, "\""));
  }
  return n;
}

absl::StatusOr<ingress::NewKeyRequest> NewKeyFromFlags(
    const std::map<std::string, std::string>& flags) {
  ingress::NewKeyRequest request;
  for (const auto& [flag, value] : flags) {
    if (flag == "--tenant") {
      request.tenant = value;
    } else if (flag == "--name") {
      request.name = value;
    } else if (flag == "--models") {
      for (absl::string_view model :
           absl::StrSplit(value, ',', absl::SkipWhitespace())) {
        request.policy.models.emplace_back(model);
      }
    } else if (flag == "--rpm" || flag == "--tpm") {
      absl::StatusOr<int64_t> n = Count(flag, value);
      if (!n.ok()) return n.status();
      (flag == "--rpm" ? request.policy.rpm : request.policy.tpm) = *n;
    } else if (flag == "--budget-usd") {
      double usd = 0;
      if (!absl::SimpleAtod(value, &usd)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--budget-usd expects a number of USD, got \"", value, "\""));
      }
      absl::StatusOr<int64_t> budget = ingress::BudgetMicroUsd(usd);
      if (!budget.ok()) return budget.status();
      request.policy.budget_micro_usd = *budget;
    } else if (flag == "--priority") {
      if (!absl::SimpleAtoi(value, &request.policy.priority)) {
        return absl::InvalidArgumentError("--priority expects an integer");
      }
    } else if (flag == "--cache") {
      request.policy.cache = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", flag));
    }
  }
  if (request.tenant.empty()) {
    return absl::InvalidArgumentError("--tenant is required");
  }
  return request;
}

}  // namespace

int RunKeys(const std::vector<std::string>& args) {
  if (args.empty()) return Usage("which action?");
  const std::string action = args[0];
  // Flags of `serve` that find the store go to its parser; the rest are
  // this command's.
  std::vector<std::string> serve_flags;
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    if (!absl::StartsWith(args[i], "--")) {
      positional.push_back(args[i]);
      continue;
    }
    std::string flag = args[i], value;
    if (size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Usage(absl::StrCat(flag, " needs a value"));
    }
    if (flag == "--config" || flag == "--sqlite-path") {
      serve_flags.push_back(flag);
      serve_flags.push_back(value);
    } else {
      flags[flag] = value;
    }
  }
  absl::StatusOr<sluice::v1::Config> config = host::ParseServeOptions(serve_flags);
  if (!config.ok()) return Fail(config.status());
  absl::StatusOr<keystore::KeyStorePtr> store =
      ingress::OpenConfiguredKeyStore(*config);
  if (!store.ok()) return Fail(store.status());

  if (action == "create") {
    if (!positional.empty()) return Usage("create takes flags only");
    absl::StatusOr<ingress::NewKeyRequest> request = NewKeyFromFlags(flags);
    if (!request.ok()) return Usage(std::string(request.status().message()));
    if (absl::Status valid = ingress::CheckNewKeyRequest(*request, *config);
        !valid.ok()) {
      return Fail(valid);
    }
    absl::StatusOr<keystore::NewKey> key =
        (*store)->Create(request->tenant, request->name, request->policy);
    if (!key.ok()) return Fail(key.status());
    std::printf("%s\n", ingress::KeyJson(key->record, key->secret).c_str());
    std::fprintf(stderr,
                 "The key is shown this once; only its hash is kept (%s).\n",
                 ingress::KeyStoreLocation(*config).c_str());
    return 0;
  }
  if (action == "list") {
    std::string tenant;
    for (const auto& [flag, value] : flags) {
      if (flag != "--tenant") return Usage(absl::StrCat("unknown flag ", flag));
      tenant = value;
    }
    absl::StatusOr<std::vector<keystore::KeyRecord>> keys =
        (*store)->List(tenant);
    if (!keys.ok()) return Fail(keys.status());
    std::printf("%s\n", ingress::KeyListJson(*keys).c_str());
    return 0;
  }
  if (action == "revoke") {
    if (positional.size() != 1 || !flags.empty()) {
      return Usage("revoke takes one key id");
    }
    if (absl::Status revoked = (*store)->Revoke(positional[0]); !revoked.ok()) {
      return Fail(revoked);
    }
    std::printf("%s\n", ingress::RevokedKeyJson(positional[0]).c_str());
    return 0;
  }
  return Usage(absl::StrCat("unknown action \"", action, "\""));
}

}  // namespace sluice::app
