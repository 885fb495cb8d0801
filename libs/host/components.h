// The components a process can reach, by service name: the implementation
// when the service is hosted here (calls are plain method calls), a gRPC
// client implementing the same interface when it is hosted elsewhere, or
// nothing. Which one a caller gets is deployment config, never code.
#pragma once

#include <memory>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace sluice::host {

class Components {
 public:
  Components() = default;
  Components(const Components&) = delete;
  Components& operator=(const Components&) = delete;

  // A component hosted here; it must outlive every caller (the host stops
  // services in dependency order, callers first).
  template <typename Interface>
  void Provide(absl::string_view service, Interface* component) {
    entries_[std::string(service)] = {std::type_index(typeid(Interface)),
                                      component, nullptr};
  }
  // A component this registry owns (a remote client).
  template <typename Interface>
  void Own(absl::string_view service, std::shared_ptr<Interface> component) {
    Interface* raw = component.get();
    entries_[std::string(service)] = {std::type_index(typeid(Interface)), raw,
                                      std::move(component)};
  }

  // Null when the service is neither hosted nor configured as remote (or
  // is registered under another interface, a wiring mistake).
  template <typename Interface>
  Interface* Find(absl::string_view service) const {
    auto it = entries_.find(service);
    if (it == entries_.end() ||
        it->second.type != std::type_index(typeid(Interface))) {
      return nullptr;
    }
    return static_cast<Interface*>(it->second.component);
  }

  bool Has(absl::string_view service) const {
    return entries_.contains(service);
  }

 private:
  struct Entry {
    std::type_index type = std::type_index(typeid(void));
    void* component = nullptr;
    std::shared_ptr<void> owned;
  };
  absl::flat_hash_map<std::string, Entry> entries_;
};

}  // namespace sluice::host
