// Public core API of horovod_cpp. No framework headers: see horovod_cpp/torch.h for tensors.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace hvd {

// Every failure the public API reports. The message names the op, the tensor and the ranks.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ReduceOp { Average, Sum, Min, Max, Product };

// Idempotent. Calls MPI_Init_thread unless MPI is already up (then MPI stays the caller's
// to finalize). Reads and validates the HOROVOD_* environment variables on every rank.
void init();
// Idempotent. Pending ops complete with hvd::Error. Finalizes MPI only if init() started it,
// in which case init() cannot be called again in this process.
void shutdown();
bool is_initialized();

int rank();
int size();
int local_rank();
int local_size();
int cross_rank();
int cross_size();

bool mpi_built();
bool nccl_built();
bool cuda_built();

void start_timeline(const std::string& path, bool mark_cycles = false);
void stop_timeline();

// Counters since init(), for tests and benchmarks. Read at any time from any thread.
struct Stats {
  std::int64_t negotiation_cycles = 0;     // rounds of the controller protocol
  std::int64_t negotiation_micros = 0;     // time the background thread spent in those rounds
  std::int64_t tensors_reduced = 0;        // allreduce tensors completed successfully
  std::int64_t allreduce_calls = 0;        // collective calls issued for allreduce
  std::int64_t fused_allreduce_calls = 0;  // of those, calls that carried more than one tensor
  std::int64_t bytes_reduced = 0;          // payload bytes passed to allreduce calls
  std::int64_t allgather_calls = 0;        // collective calls issued for allgather
  std::int64_t fused_allgather_calls = 0;  // of those, calls that carried more than one tensor
  std::int64_t errors_reported = 0;        // tensors completed with an error
  std::int64_t cache_hits = 0;           // allreduces negotiated by the response cache's bit vector
  std::int64_t cache_misses = 0;         // allreduces that went through the coordinator
  std::int64_t tensors_submitted = 0;    // ops accepted by the queue, all types
  std::int64_t ops_in_flight = 0;        // now: queued ops not yet completed
  std::int64_t handles_outstanding = 0;  // now: handles not yet synchronized (done or not)
  std::int64_t fusion_threshold_bytes = 0;  // now: in effect (autotuning may change it)
  std::int64_t cycle_time_us = 0;           // now: in effect (autotuning may change it)
  bool cache_enabled = false;  // now: the response cache is in use (autotuning may switch it)
  // now: HOROVOD_HIERARCHICAL_ALLREDUCE's value (autotuning may switch it where it can run);
  // GPU allreduces take that path only with several hosts of as many ranks each
  bool hierarchical_allreduce = false;
  bool autotune_done = false;  // autotuning chose its final values
};
Stats stats();

}  // namespace hvd
