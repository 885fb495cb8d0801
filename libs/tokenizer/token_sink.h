// Where a text's tokens go while it is tokenized: a buffer whose room is
// checked once a word, so that a cached word's tokens are copied as one
// block of fixed size instead of one by one (std::vector checks its room
// for every token and calls memcpy for a few bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace sluice::tokenizer {

class TokenSink {
 public:
  // The most tokens AppendBlock copies.
  static constexpr size_t kBlock = 14;

  void Push(int32_t token) {
    if (size_ == capacity_) Grow(1);
    data_[size_++] = token;
  }

  // Appends `count` (at most kBlock) tokens from `tokens`, of which kBlock
  // can be read.
  void AppendBlock(const int32_t* tokens, size_t count) {
    if (capacity_ - size_ < kBlock) Grow(kBlock);
    std::memcpy(data_.get() + size_, tokens, kBlock * sizeof(int32_t));
    size_ += count;
  }

  void Append(const int32_t* tokens, size_t count) {
    if (capacity_ - size_ < count) Grow(count);
    std::memcpy(data_.get() + size_, tokens, count * sizeof(int32_t));
    size_ += count;
  }

  const int32_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

  // Empties it, giving back the room of a very long text.
  void Reset() {
    size_ = 0;
    if (capacity_ > kKeptRoom) {
      data_.reset();
      capacity_ = 0;
    }
  }

 private:
  static constexpr size_t kKeptRoom = 256 * 1024;

  void Grow(size_t more) {
    size_t capacity = capacity_ == 0 ? 4096 : 2 * capacity_;
    while (capacity - size_ < more) capacity *= 2;
    std::unique_ptr<int32_t[]> data(new int32_t[capacity]);
    if (size_ > 0)
      std::memcpy(data.get(), data_.get(), size_ * sizeof(int32_t));
    data_ = std::move(data);
    capacity_ = capacity;
  }

  std::unique_ptr<int32_t[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace sluice::tokenizer
