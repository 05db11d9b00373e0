// Runs one Allgather response on this rank's entries, on host memory over MPI. A single
// tensor is gathered straight into its output (rows of a row datatype, MPI_Allgatherv).
// Several are fused: this rank's inputs are packed back to back into a send buffer, one
// MPI_Allgatherv of bytes moves every rank's pack, and each output is assembled from its
// slice of every rank's pack. Thread: background only.
#pragma once

#include <vector>

#include "collectives/mpi_context.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/runtime_counters.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

class AllgatherExecutor {
 public:
  // Both are owned by the Runtime, which destroys this executor first.
  AllgatherExecutor(const MpiContext* mpi, RuntimeCounters* counters);

  // `entries` are in the response's name order.
  Status execute(const Response& response, const std::vector<TensorTableEntry>& entries);

 private:
  // Allocates entry i's output; its data pointer goes to outputs[i].
  Status allocate_outputs(const Response& response, const std::vector<TensorTableEntry>& entries,
                          std::vector<char*>* outputs) const;
  Status gather_fused(const Response& response, const std::vector<TensorTableEntry>& entries,
                      const std::vector<char*>& outputs);

  const MpiContext* const mpi_;
  RuntimeCounters* const counters_;
  std::vector<char> send_buffer_;  // grow to the largest fused group, never shrink
  std::vector<char> recv_buffer_;
};

}  // namespace hvd
