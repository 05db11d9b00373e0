// Byte encoding for the control messages ranks exchange. The reader is defensive: any
// truncated, oversized or out-of-range input is an error, never undefined behaviour.
// Integers travel in host byte order: every rank of a job runs on the same architecture.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "horovod_cpp/status.h"

namespace hvd {

class ByteWriter {
 public:
  template <class T>
  void put(T value) {
    static_assert(std::is_arithmetic_v<T>, "put() takes numbers");
    const auto* p = reinterpret_cast<const char*>(&value);
    bytes_.append(p, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    bytes_.append(s);
  }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

class ByteReader {
 public:
  explicit ByteReader(const std::string& bytes) : data_(bytes.data()), size_(bytes.size()) {}

  template <class T>
  Status get(T* out) {
    static_assert(std::is_arithmetic_v<T>, "get() takes numbers");
    if (size_ - offset_ < sizeof(T))
      return truncated(sizeof(T));
    std::memcpy(out, data_ + offset_, sizeof(T));
    offset_ += sizeof(T);
    return Status::ok();
  }
  Status get_string(std::string* out) {
    std::uint32_t length = 0;
    HVD_RETURN_IF_ERROR(get(&length));
    if (size_ - offset_ < length)
      return truncated(length);
    out->assign(data_ + offset_, length);
    offset_ += length;
    return Status::ok();
  }
  // Reads a count and checks that at least `count * min_item_bytes` bytes remain, so a
  // forged count cannot make the caller reserve absurd memory.
  Status get_count(std::uint32_t* count, std::size_t min_item_bytes) {
    HVD_RETURN_IF_ERROR(get(count));
    if (min_item_bytes > 0 && *count > (size_ - offset_) / min_item_bytes) {
      return Status::error("malformed control message: count " + std::to_string(*count) +
                           " exceeds the " + std::to_string(size_ - offset_) +
                           " bytes that remain");
    }
    return Status::ok();
  }
  bool at_end() const { return offset_ == size_; }
  std::size_t offset() const { return offset_; }

 private:
  Status truncated(std::size_t wanted) const {
    return Status::error("malformed control message: wanted " + std::to_string(wanted) +
                         " bytes at offset " + std::to_string(offset_) + " of " +
                         std::to_string(size_));
  }
  const char* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
};

}  // namespace hvd
