// A Redis reply (RESP2) copied out of hiredis, so that it outlives the
// hiredis callback that produced it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct redisReply;

namespace sluice::redis {

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kArray, kError };

  Type type = Type::kNil;
  int64_t integer = 0;               // kInteger
  std::string str;                   // kString (bulk), kStatus, kError
  std::vector<RedisReply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

// A deep copy of hiredis' reply tree.
RedisReply CopyReply(const redisReply& reply);

}  // namespace sluice::redis
