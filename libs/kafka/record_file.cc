#include "libs/kafka/record_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace sluice::kafka {
namespace {

constexpr size_t kHeaderBytes = 8;

void PutU32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>(value >> (8 * i)));
  }
}

uint32_t GetU32(const char* in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value |= static_cast<uint32_t>(static_cast<unsigned char>(in[i]))
             << (8 * i);
  }
  return value;
}

uint32_t Crc(absl::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()),
            static_cast<uInt>(bytes.size())));
}

}  // namespace

std::string EncodeRecord(absl::string_view key, absl::string_view value) {
  std::string payload;
  payload.reserve(4 + key.size() + value.size());
  PutU32(payload, static_cast<uint32_t>(key.size()));
  payload.append(key.data(), key.size());
  payload.append(value.data(), value.size());
  std::string record;
  record.reserve(kHeaderBytes + payload.size());
  PutU32(record, static_cast<uint32_t>(payload.size()));
  PutU32(record, Crc(payload));
  record += payload;
  return record;
}

std::vector<std::pair<std::string, std::string>> DecodeRecords(
    const std::string& path, absl::string_view data) {
  std::vector<std::pair<std::string, std::string>> records;
  size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < kHeaderBytes) break;
    uint32_t length = GetU32(data.data() + at);
    uint32_t crc = GetU32(data.data() + at + 4);
    if (length < 4 || data.size() - at - kHeaderBytes < length) break;
    absl::string_view payload = data.substr(at + kHeaderBytes, length);
    if (Crc(payload) != crc) break;
    uint32_t key_length = GetU32(payload.data());
    if (key_length > length - 4) break;
    records.emplace_back(std::string(payload.substr(4, key_length)),
                         std::string(payload.substr(4 + key_length)));
    at += kHeaderBytes + length;
  }
  if (at < data.size()) {
    spdlog::warn(
        "{} has {} unreadable bytes at its end (a write cut short); {} "
        "records before them are kept",
        path, data.size() - at, records.size());
  }
  return records;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

absl::StatusOr<HeldSlot> TakeFreeSlot(const std::string& dir,
                                      absl::string_view what) {
  constexpr int kSlots = 64;
  for (int slot = 0; slot < kSlots; ++slot) {
    std::string slot_dir = absl::StrCat(dir, "/slot-", slot);
    std::error_code error;
    std::filesystem::create_directories(slot_dir, error);
    if (error) {
      return absl::UnavailableError(absl::StrCat(
          what, ": cannot create ", slot_dir, ": ", error.message()));
    }
    int fd =
        open((slot_dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::UnavailableError(absl::StrCat(
          what, ": cannot open ", slot_dir, "/lock: ", std::strerror(errno)));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return HeldSlot{slot_dir, fd};
    close(fd);
  }
  return absl::ResourceExhaustedError(
      absl::StrCat(what, ": all ", kSlots, " slots of ", dir, " are held"));
}

}  // namespace sluice::kafka
