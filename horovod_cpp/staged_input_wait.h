// The host-staged GPU path's one wait (HOROVOD_GPU_OPERATIONS=MPI, or a build without the GPU
// data plane): the framework adapter queues the copy of a CUDA tensor into host memory on the
// caller's stream and returns, and the background thread waits here, before a host op reads
// such an input, until that copy has run. The user's thread never waits for its device.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "horovod_cpp/status.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

struct StagedInputBounds {
  std::chrono::microseconds poll_period{20};
  // `warn` gets the names still waited for each time this passes (0: never).
  std::chrono::milliseconds warning_period{60'000};
  // Then an error: the device never ran the copy (it is stuck or the copy failed).
  std::chrono::milliseconds limit{600'000};
};

// Whether any of `entries` holds a host input with a ready event still to wait for.
bool has_staged_inputs(const std::vector<TensorTableEntry>& entries);

// Returns once every host entry's ready event has happened (entries on the GPU data plane are
// the device's to wait for, and are skipped). An event that fails, or the limit, is an error
// naming the tensors.
Status wait_for_staged_inputs(const std::vector<TensorTableEntry>& entries,
                              const StagedInputBounds& bounds,
                              const std::function<void(const std::string&)>& warn);

}  // namespace hvd
