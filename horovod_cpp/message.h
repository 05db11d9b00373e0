// Control messages of the negotiation protocol (see controller.h): what a rank says is ready
// (Request), and what the coordinator decides every rank runs, in order (Response).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "horovod_cpp/data_type.h"
#include "horovod_cpp/op_type.h"
#include "horovod_cpp/status.h"

namespace hvd {

struct Request {
  std::int32_t rank = 0;
  OpType op = OpType::Allreduce;
  DataType dtype = DataType::Float32;
  ReduceOp reduce_op = ReduceOp::Sum;
  std::int32_t device = kCpuDevice;
  // The buffers are device memory, reduced by the GPU data plane (device_plane.h); false for
  // CPU tensors and for CUDA tensors the framework adapter staged through host memory.
  bool on_device = false;
  std::string name;
  std::vector<std::int64_t> shape;
  double prescale = 1.0;
  double postscale = 1.0;
  std::int32_t root_rank = 0;        // Broadcast only
  std::vector<std::int64_t> splits;  // Alltoall only: rows sent to each rank; empty = even
  // grouped_allreduce members: the group's name, its member count, and this member's place.
  std::string group;
  std::int32_t group_size = 0;
  std::int32_t group_index = 0;

  bool operator==(const Request& other) const;
};

// Everything one rank says in one negotiation cycle.
struct RequestList {
  std::vector<Request> requests;
  bool shutdown = false;        // this rank is shutting down...
  std::string shutdown_reason;  // ...because of this ("hvd::shutdown() was called", ...)

  std::string serialize() const;
  static StatusOr<RequestList> parse(const std::string& bytes);
};

enum class ResponseType : std::uint8_t {
  Allreduce,
  Allgather,
  Broadcast,
  Error,
  Reducescatter,
  Alltoall,
  Barrier,
  Join,
};
constexpr int kNumResponseTypes = 8;

// One collective call every rank makes, over `names` in this order (several when fused).
struct Response {
  ResponseType type = ResponseType::Allreduce;
  std::vector<std::string> names;
  std::vector<std::int64_t> element_counts;  // one per name
  std::vector<std::int64_t> dim0_by_rank;    // Allgather: per name, each rank's dim 0
  std::string error_message;                 // Error only
  std::int32_t root_rank = 0;                // Broadcast: the root; Join: the last rank to join
  DataType dtype = DataType::Float32;
  ReduceOp reduce_op = ReduceOp::Sum;
  std::int32_t device = kCpuDevice;
  bool on_device = false;  // runs on the GPU data plane (see Request)
  double prescale = 1.0;
  double postscale = 1.0;

  std::int64_t total_bytes() const;
  bool operator==(const Response& other) const;
};

// The coordinator's decision for one cycle; identical on every rank.
struct ResponseList {
  std::vector<Response> responses;
  // Non-empty: every rank stops after this cycle, failing its pending ops with these ranks'
  // reasons (parallel vectors, in rank order), so the root cause reaches every rank.
  std::vector<std::int32_t> shutdown_ranks;
  std::vector<std::string> shutdown_reasons;
  // Non-empty: every rank stops after this cycle and fails its pending ops with this message
  // (the stall inspector's verdict).
  std::string abort_reason;
  // Some rank sent requests or some response was produced: more is likely to follow at once,
  // so ranks with ops in flight start the next round without waiting a cycle time.
  bool progress = false;
  // No rank was joined while these responses formed, so every rank submitted each of them:
  // their allreduces may enter the response cache.
  bool cacheable = false;
  // Autotuning (rank 0's Autotuner): when > 0, every rank switches to these after this round.
  std::int64_t tuned_fusion_threshold_bytes = 0;
  std::int64_t tuned_cycle_time_us = 0;
  bool tuned_cache_enabled = true;  // the response cache, where HOROVOD_CACHE_CAPACITY > 0
  bool tuned_hierarchical_allreduce = false;  // HOROVOD_HIERARCHICAL_ALLREDUCE's value
  bool tuning_final = false;                  // autotuning is over with these values

  bool shutdown() const { return !shutdown_ranks.empty() || !abort_reason.empty(); }
  std::string serialize() const;
  static StatusOr<ResponseList> parse(const std::string& bytes);
};

}  // namespace hvd
