#include "services/cache/window_tiny_lfu.h"

#include <algorithm>
#include <utility>

namespace sluice::cache {
namespace {

constexpr int64_t kWindowPercent = 1;
constexpr int64_t kProtectedPercent = 80;
// A first guess at the entry count for sizing the sketch; it grows with the
// actual count.
constexpr int64_t kGuessedEntryBytes = 1024;

}  // namespace

WindowTinyLfu::WindowTinyLfu(int64_t capacity_bytes)
    : capacity_(std::max<int64_t>(capacity_bytes, 0)),
      window_max_(capacity_ * kWindowPercent / 100),
      protected_max_((capacity_ - window_max_) * kProtectedPercent / 100),
      sketch_(capacity_ / kGuessedEntryBytes) {}

CacheNode* WindowTinyLfu::Find(absl::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : it->second.get();
}

void WindowTinyLfu::RecordHit(CacheNode* node) {
  sketch_.Increment(node->hash);
  switch (node->region) {
    case kWindow:
      window_.MoveToFront(node);
      break;
    case kProbation:
      probation_.Remove(node);
      node->region = kProtected;
      protected_.PushFront(node);
      DemoteProtectedOverflow();
      break;
    case kProtected:
      protected_.MoveToFront(node);
      break;
    default:
      break;
  }
}

void WindowTinyLfu::Insert(std::string key, uint64_t hash, CachedValuePtr value,
                           int64_t charge, NodeFn on_evict) {
  auto node = std::make_unique<CacheNode>();
  node->key = std::move(key);
  node->hash = hash;
  node->value = std::move(value);
  node->charge = charge;
  node->region = kWindow;
  CacheNode* raw = node.get();
  index_.emplace(raw->key, std::move(node));
  sketch_.EnsureCapacity(static_cast<int64_t>(index_.size()));
  sketch_.Increment(hash);
  window_.PushFront(raw);
  MakeRoom(on_evict);
}

void WindowTinyLfu::Remove(CacheNode* node) {
  Unlink(node);
  Destroy(node);
}

int64_t WindowTinyLfu::RemoveIf(
    absl::FunctionRef<bool(const CacheNode&)> matches, NodeFn on_remove) {
  int64_t removed = 0;
  for (AccessList* list : {&window_, &probation_, &protected_}) {
    for (CacheNode* node = list->front(); node != nullptr;) {
      CacheNode* next = node->next;
      if (matches(*node)) {
        on_remove(*node);
        Remove(node);
        ++removed;
      }
      node = next;
    }
  }
  return removed;
}

void WindowTinyLfu::Unlink(CacheNode* node) {
  switch (node->region) {
    case kWindow:
      window_.Remove(node);
      break;
    case kProbation:
      probation_.Remove(node);
      break;
    case kProtected:
      protected_.Remove(node);
      break;
    default:
      break;
  }
  node->region = kDetached;
}

void WindowTinyLfu::Destroy(CacheNode* node) {
  index_.erase(index_.find(node->key));
}

void WindowTinyLfu::DemoteProtectedOverflow() {
  while (protected_.bytes() > protected_max_) {
    CacheNode* node = protected_.back();
    protected_.Remove(node);
    node->region = kProbation;
    probation_.PushFront(node);
  }
}

void WindowTinyLfu::MakeRoom(NodeFn on_evict) {
  while (window_.bytes() > window_max_) {
    CacheNode* candidate = window_.back();
    Unlink(candidate);
    AdmitOrReject(candidate, on_evict);
  }
  // Only reachable if admission could not balance the books (a candidate
  // larger than main): fall back to plain LRU order, probation first.
  while (bytes() > capacity_) {
    CacheNode* victim = !probation_.empty()   ? probation_.back()
                        : !protected_.empty() ? protected_.back()
                                              : window_.back();
    on_evict(*victim);
    Remove(victim);
  }
}

void WindowTinyLfu::AdmitOrReject(CacheNode* candidate, NodeFn on_evict) {
  const int64_t needed = bytes() + candidate->charge - capacity_;
  victims_.clear();
  int64_t freed = 0;
  int strongest = 0;
  // The victims are taken from the LRU end of probation, then of protected.
  for (AccessList* list : {&probation_, &protected_}) {
    for (CacheNode* node = list->back(); node != nullptr && freed < needed;
         node = node->prev) {
      victims_.push_back(node);
      freed += node->charge;
      strongest = std::max(strongest, sketch_.Frequency(node->hash));
    }
  }
  // Ties go to the incumbents: a key seen once (a scan) never displaces one
  // seen as often.
  const bool admit =
      freed >= needed &&
      (victims_.empty() || sketch_.Frequency(candidate->hash) > strongest);
  if (!admit) {
    on_evict(*candidate);
    Destroy(candidate);
    return;
  }
  for (CacheNode* victim : victims_) {
    on_evict(*victim);
    Remove(victim);
  }
  candidate->region = kProbation;
  probation_.PushFront(candidate);
}

}  // namespace sluice::cache
