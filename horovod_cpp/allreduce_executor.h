// Runs one allreduce Response on this rank's entries, on host memory over MPI. A single
// tensor is reduced straight from its input into its output; several are packed into the
// persistent fusion buffer (prescale applied on the way in), reduced, and unpacked (postscale
// and Average applied on the way out), a piece of at most kFusedPieceBytes at a time.
// Thread: background only.
#pragma once

#include <vector>

#include "collectives/mpi_context.h"
#include "horovod_cpp/fusion_planner.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/runtime_counters.h"
#include "horovod_cpp/tensor_table_entry.h"
#include "horovod_cpp/timeline.h"

namespace hvd {

class AllreduceExecutor {
 public:
  // All are owned by the Runtime, which destroys this executor first.
  AllreduceExecutor(const MpiContext* mpi, RuntimeCounters* counters, Timeline* timeline);

  // `entries` are in the response's name order.
  Status execute(const Response& response, const std::vector<TensorTableEntry>& entries);

 private:
  Status reduce_single(const Response& response, const TensorTableEntry& entry);
  Status reduce_in_pieces(const Response& response, const std::vector<TensorTableEntry>& entries);
  // Packs entries [first, end), `bytes` in all, reduces them with one call and unpacks them.
  Status reduce_piece(const Response& response, const std::vector<TensorTableEntry>& entries,
                      size_t first, size_t end, std::int64_t bytes);
  // Writes the reduced `src` to `dst` with postscale and Average's division applied.
  void finish(const Response& response, const void* src, void* dst, std::int64_t count) const;
  Status reduce(const void* input, void* output, std::int64_t count, const Response& response);

  const MpiContext* const mpi_;
  RuntimeCounters* const counters_;
  Timeline* const timeline_;
  std::vector<char> fusion_buffer_;  // grows to the largest piece, never shrinks
};

}  // namespace hvd
