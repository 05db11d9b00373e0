#include "horovod_cpp/allgather_executor.h"

#include <climits>
#include <cstring>

#include "collectives/mpi_allgather.h"

namespace hvd {
namespace {

std::int64_t row_bytes_of(const TensorTableEntry& entry) {
  std::int64_t row = element_size_bytes(entry.dtype);
  for (size_t d = 1; d < entry.shape.size(); ++d)
    row *= entry.shape[d];
  return row;
}

}  // namespace

AllgatherExecutor::AllgatherExecutor(const MpiContext* mpi, RuntimeCounters* counters)
    : mpi_(mpi), counters_(counters) {}

Status AllgatherExecutor::allocate_outputs(const Response& response,
                                           const std::vector<TensorTableEntry>& entries,
                                           std::vector<char*>* outputs) const {
  const int size = mpi_->topology().size;
  for (size_t i = 0; i < entries.size(); ++i) {
    const TensorTableEntry& entry = entries[i];
    std::vector<std::int64_t> shape = entry.shape;
    shape[0] = 0;
    for (int r = 0; r < size; ++r)
      shape[0] += response.dim0_by_rank[i * size + r];
    if (!entry.allocate_output)
      return Status::error("allgather '" + entry.name + "': internal: no output allocator");
    StatusOr<void*> output = entry.allocate_output(shape);
    if (!output.is_ok())
      return output.status().with_context("allgather '" + entry.name + "'");
    outputs->push_back(static_cast<char*>(output.value()));
  }
  return Status::ok();
}

Status AllgatherExecutor::execute(const Response& response,
                                  const std::vector<TensorTableEntry>& entries) {
  const int size = mpi_->topology().size;
  if (response.dim0_by_rank.size() != entries.size() * size) {
    return Status::error("internal: allgather of " + std::to_string(entries.size()) +
                         " tensors got " + std::to_string(response.dim0_by_rank.size()) +
                         " row counts");
  }
  std::vector<char*> outputs;
  HVD_RETURN_IF_ERROR(allocate_outputs(response, entries, &outputs));
  std::int64_t total_bytes = 0;
  for (size_t t = 0; t < entries.size(); ++t) {
    for (int r = 0; r < size; ++r)
      total_bytes += response.dim0_by_rank[t * size + r] * row_bytes_of(entries[t]);
  }
  // A fused payload counts bytes in MPI's int; past that (a threshold above 2 GiB) each
  // tensor goes alone, counting rows.
  if (entries.size() == 1 || total_bytes > INT_MAX) {
    for (size_t t = 0; t < entries.size(); ++t) {
      const std::vector<std::int64_t> rows(response.dim0_by_rank.begin() + t * size,
                                           response.dim0_by_rank.begin() + (t + 1) * size);
      RuntimeCounters::add(counters_->allgather_calls, 1);
      HVD_RETURN_IF_ERROR(mpi_allgatherv(entries[t].input, outputs[t], row_bytes_of(entries[t]),
                                         rows, mpi_->topology().rank, mpi_->data_comm())
                              .with_context("allgather '" + entries[t].name + "'"));
    }
    return Status::ok();
  }
  RuntimeCounters::add(counters_->allgather_calls, 1);
  RuntimeCounters::add(counters_->fused_allgather_calls, 1);
  return gather_fused(response, entries, outputs)
      .with_context("fused allgather of " + std::to_string(entries.size()) +
                    " tensors starting with '" + entries.front().name + "'");
}

// Rank r's pack holds, for each tensor in order, its rows_{t,r} rows. Output t is the
// concatenation over ranks of those rows, so it is assembled slice by slice.
Status AllgatherExecutor::gather_fused(const Response& response,
                                       const std::vector<TensorTableEntry>& entries,
                                       const std::vector<char*>& outputs) {
  const int size = mpi_->topology().size;
  const int rank = mpi_->topology().rank;
  std::vector<std::int64_t> pack_bytes(size, 0);
  for (size_t t = 0; t < entries.size(); ++t) {
    const std::int64_t row_bytes = row_bytes_of(entries[t]);
    for (int r = 0; r < size; ++r)
      pack_bytes[r] += response.dim0_by_rank[t * size + r] * row_bytes;
  }
  std::int64_t total = 0;  // at most INT_MAX (execute() checked)
  for (std::int64_t bytes : pack_bytes)
    total += bytes;
  if (send_buffer_.size() < static_cast<size_t>(pack_bytes[rank]))
    send_buffer_.resize(static_cast<size_t>(pack_bytes[rank]));
  if (recv_buffer_.size() < static_cast<size_t>(total))
    recv_buffer_.resize(static_cast<size_t>(total));
  std::int64_t offset = 0;
  for (const TensorTableEntry& entry : entries) {
    const std::int64_t bytes = entry.byte_size();
    if (bytes > 0)
      std::memcpy(send_buffer_.data() + offset, entry.input, static_cast<size_t>(bytes));
    offset += bytes;
  }
  // One row of one byte per rank's pack byte: counts fit int since the total does.
  HVD_RETURN_IF_ERROR(mpi_allgatherv(send_buffer_.data(), recv_buffer_.data(), 1, pack_bytes, rank,
                                     mpi_->data_comm()));
  std::vector<std::int64_t> written(entries.size(), 0);
  const char* pack = recv_buffer_.data();
  for (int r = 0; r < size; ++r) {
    for (size_t t = 0; t < entries.size(); ++t) {
      const std::int64_t bytes = response.dim0_by_rank[t * size + r] * row_bytes_of(entries[t]);
      if (bytes > 0)
        std::memcpy(outputs[t] + written[t], pack, static_cast<size_t>(bytes));
      written[t] += bytes;
      pack += bytes;
    }
  }
  return Status::ok();
}

}  // namespace hvd
