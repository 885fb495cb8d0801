#include "services/cache/flight_table.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sluice::cache {
namespace {

// "<key>:<id>" → (key, id).
bool SplitLease(const std::string& lease, std::string* key, uint64_t* id) {
  size_t colon = lease.rfind(':');
  if (colon == std::string::npos) return false;
  *key = lease.substr(0, colon);
  return absl::SimpleAtoi(absl::string_view(lease).substr(colon + 1), id);
}

}  // namespace

FlightTable::FlightTable(absl::Duration fill_deadline, absl::Duration max_age)
    : fill_deadline_(fill_deadline), max_age_(max_age) {}

std::string FlightTable::KeyOf(const std::string& lease) {
  std::string key;
  uint64_t id = 0;
  SplitLease(lease, &key, &id);
  return key;
}

FlightTable::Joined FlightTable::JoinOrLead(
    const std::string& key, FlightListener* listener, absl::Time now,
    const std::function<bool()>& stored) {
  absl::MutexLock lock(&mu_);
  auto it = flights_.find(key);
  if (it != flights_.end()) {
    Flight& flight = it->second;
    bool stale = now - flight.started > max_age_ ||
                 (!flight.filling && now - flight.started > fill_deadline_);
    if (!stale) {
      for (const sluice::v1::ChatChunk& chunk : flight.chunks) {
        listener->OnChunk(chunk);
      }
      flight.followers.push_back(listener);
      return Joined{};
    }
    FailLocked(key);
  } else if (stored && stored()) {
    Joined served;
    served.served = true;
    return served;
  }
  Flight& flight = flights_[key];
  flight.id = next_id_++;
  flight.started = now;
  Joined lead;
  lead.lead = true;
  lead.lease = absl::StrCat(key, ":", flight.id);
  return lead;
}

FlightTable::Flight* FlightTable::FindLocked(const std::string& lease) {
  std::string key;
  uint64_t id = 0;
  if (!SplitLease(lease, &key, &id)) return nullptr;
  auto it = flights_.find(key);
  if (it == flights_.end() || it->second.id != id) return nullptr;
  return &it->second;
}

bool FlightTable::BeginFill(const std::string& lease) {
  absl::MutexLock lock(&mu_);
  Flight* flight = FindLocked(lease);
  if (flight == nullptr) return false;
  flight->filling = true;
  return true;
}

bool FlightTable::Chunk(const std::string& lease,
                        const sluice::v1::ChatChunk& chunk) {
  absl::MutexLock lock(&mu_);
  Flight* flight = FindLocked(lease);
  if (flight == nullptr) return false;
  flight->chunks.push_back(chunk);
  for (FlightListener* follower : flight->followers) follower->OnChunk(chunk);
  return true;
}

bool FlightTable::Done(const std::string& lease,
                       const sluice::v1::ChatResponse& response) {
  absl::MutexLock lock(&mu_);
  Flight* flight = FindLocked(lease);
  if (flight == nullptr) return false;
  for (FlightListener* follower : flight->followers) follower->OnDone(response);
  flights_.erase(KeyOf(lease));
  return true;
}

bool FlightTable::Fail(const std::string& lease) {
  absl::MutexLock lock(&mu_);
  if (FindLocked(lease) == nullptr) return false;
  FailLocked(KeyOf(lease));
  return true;
}

void FlightTable::FailIfNotFilling(const std::string& lease) {
  absl::MutexLock lock(&mu_);
  Flight* flight = FindLocked(lease);
  if (flight != nullptr && !flight->filling) FailLocked(KeyOf(lease));
}

void FlightTable::FailLocked(const std::string& key) {
  auto it = flights_.find(key);
  if (it == flights_.end()) return;
  for (FlightListener* follower : it->second.followers) follower->OnFailed();
  flights_.erase(it);
}

size_t FlightTable::in_flight() const {
  absl::MutexLock lock(&mu_);
  return flights_.size();
}

}  // namespace sluice::cache
