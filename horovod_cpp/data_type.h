// Element types the runtime moves and reduces. Header-only so that collectives/ can use the
// vocabulary without linking the core.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hvd {

enum class DataType : std::uint8_t {
  UInt8,
  Int8,
  Int32,
  Int64,
  Float16,
  BFloat16,
  Float32,
  Float64,
  Bool,
};
constexpr int kNumDataTypes = 9;

inline int element_size_bytes(DataType type) {
  switch (type) {
    case DataType::UInt8:
    case DataType::Int8:
    case DataType::Bool:
      return 1;
    case DataType::Float16:
    case DataType::BFloat16:
      return 2;
    case DataType::Int32:
    case DataType::Float32:
      return 4;
    case DataType::Int64:
    case DataType::Float64:
      return 8;
  }
  return 0;
}

inline const char* data_type_name(DataType type) {
  switch (type) {
    case DataType::UInt8:
      return "uint8";
    case DataType::Int8:
      return "int8";
    case DataType::Int32:
      return "int32";
    case DataType::Int64:
      return "int64";
    case DataType::Float16:
      return "float16";
    case DataType::BFloat16:
      return "bfloat16";
    case DataType::Float32:
      return "float32";
    case DataType::Float64:
      return "float64";
    case DataType::Bool:
      return "bool";
  }
  return "unknown";
}

inline bool is_floating_point(DataType type) {
  return type == DataType::Float16 || type == DataType::BFloat16 || type == DataType::Float32 ||
         type == DataType::Float64;
}

// "[4, 3]"; "[]" for a scalar.
inline std::string shape_to_string(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

}  // namespace hvd
