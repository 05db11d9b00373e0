// The collective an entry asks for, and the reduce op's printable name.
#pragma once

#include <cstdint>

#include "horovod_cpp/horovod.h"

namespace hvd {

enum class OpType : std::uint8_t {
  Allreduce,
  Allgather,
  Broadcast,
  Reducescatter,
  Alltoall,
  Barrier,
  Join,
};
constexpr int kNumOpTypes = 7;

// The name every rank's hvd::join() negotiates under.
inline constexpr const char* kJoinName = "hvd::join";

inline const char* op_type_name(OpType op) {
  switch (op) {
    case OpType::Allreduce:
      return "allreduce";
    case OpType::Allgather:
      return "allgather";
    case OpType::Broadcast:
      return "broadcast";
    case OpType::Reducescatter:
      return "reducescatter";
    case OpType::Alltoall:
      return "alltoall";
    case OpType::Barrier:
      return "barrier";
    case OpType::Join:
      return "join";
  }
  return "unknown";
}

inline const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Average:
      return "Average";
    case ReduceOp::Sum:
      return "Sum";
    case ReduceOp::Min:
      return "Min";
    case ReduceOp::Max:
      return "Max";
    case ReduceOp::Product:
      return "Product";
  }
  return "unknown";
}
constexpr int kNumReduceOps = 5;

// Device of a tensor: kCpuDevice or a CUDA ordinal.
constexpr int kCpuDevice = -1;

}  // namespace hvd
