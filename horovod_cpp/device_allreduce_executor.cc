#include "horovod_cpp/device_allreduce_executor.h"

#include <algorithm>
#include <thread>

#include "collectives/mpi_allreduce.h"

namespace hvd {

DeviceAllreduceExecutor::DeviceAllreduceExecutor(DevicePlane* plane, RuntimeCounters* counters,
                                                 const MpiContext* hierarchy,
                                                 std::chrono::milliseconds device_limit)
    : plane_(plane), counters_(counters), hierarchy_(hierarchy), device_limit_(device_limit) {}

Status DeviceAllreduceExecutor::enqueue(const Response& response,
                                        const std::vector<TensorTableEntry>& entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const TensorTableEntry& entry = entries[i];
    if (entry.num_elements() != response.element_counts[i]) {
      return Status::error("internal: allreduce '" + entry.name + "' has " +
                           std::to_string(entry.num_elements()) +
                           " elements here but the coordinator planned " +
                           std::to_string(response.element_counts[i]));
    }
    HVD_RETURN_IF_ERROR(
        check_on_plane(*plane_, entry.on_device, entry.device, "allreduce '" + entry.name + "'"));
  }
  // Every input must be ready before the first copy or call reads any of them.
  for (const TensorTableEntry& entry : entries) {
    if (entry.ready)
      HVD_RETURN_IF_ERROR(plane_->wait_for(*entry.ready));
  }
  const bool integer_average =
      response.reduce_op == ReduceOp::Average && !is_floating_point(response.dtype);
  // With one host, the hierarchy is the flat allreduce plus copies and a wait.
  if (hierarchy_ != nullptr && hierarchy_->topology().cross_size > 1 && !integer_average)
    return enqueue_hierarchical(response, entries);
  if (entries.size() == 1)
    return enqueue_single(response, entries.front());
  return enqueue_fused(response, entries);
}

Status DeviceAllreduceExecutor::wait_for_device() {
  const CompletionFinalizer::Poll done = plane_->completion();
  const auto deadline = std::chrono::steady_clock::now() + device_limit_;
  while (true) {
    StatusOr<bool> polled = done();
    if (!polled.is_ok())
      return polled.status();
    if (polled.value())
      return Status::ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::error("the device did not finish the host-local reduce-scatter within " +
                           std::to_string(device_limit_.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

Status DeviceAllreduceExecutor::enqueue_hierarchical(const Response& response,
                                                     const std::vector<TensorTableEntry>& entries) {
  const Topology& topology = hierarchy_->topology();
  const std::int64_t element_bytes = element_size_bytes(response.dtype);
  std::int64_t count = 0;
  for (const TensorTableEntry& entry : entries)
    count += entry.num_elements();
  // Equal blocks by local rank, the last padded (the padding is reduced and moved, then
  // dropped): one NCCL reduce-scatter and one allgather, and every host splits alike (same
  // local_size), so a shard meets its peers across hosts.
  const int local_size = topology.local_size;
  const std::int64_t shard_count = (count + local_size - 1) / local_size;
  const std::int64_t shard_bytes = shard_count * element_bytes;
  const std::vector<std::int64_t> counts(static_cast<size_t>(local_size), shard_count);
  const std::vector<std::int64_t> bytes(static_cast<size_t>(local_size), shard_bytes);
  const std::int64_t packed_bytes = count * element_bytes;
  const std::int64_t padded_bytes = shard_bytes * local_size;
  // The shard is reduced out of place, behind the padded pack: MPI's reduce-scatter (the
  // simulated device) may not alias, and the allgather reads it while it writes the rest.
  HVD_ASSIGN_OR_RETURN(void* buffer_memory, fusion_buffer(padded_bytes + shard_bytes));
  char* const packed = static_cast<char*>(buffer_memory);
  char* const shard = packed + padded_bytes;
  HVD_RETURN_IF_ERROR(pack(entries, packed, response.dtype, response.prescale));
  const bool average = response.reduce_op == ReduceOp::Average;
  const ReduceOp op = average ? ReduceOp::Sum : response.reduce_op;
  const std::string what = entries.size() == 1
                               ? "hierarchical allreduce '" + entries.front().name + "'"
                               : "hierarchical allreduce of " + std::to_string(entries.size()) +
                                     " tensors starting with '" + entries.front().name + "'";
  HVD_RETURN_IF_ERROR(plane_->local_reducescatter(packed, shard, counts, response.dtype, op)
                          .with_context(what + ": within the host"));
  HVD_ASSIGN_OR_RETURN(void* host_shard, plane_->host_buffer(shard_bytes));
  HVD_RETURN_IF_ERROR(plane_->copy_to_host(shard, host_shard, shard_bytes));
  HVD_RETURN_IF_ERROR(wait_for_device().with_context(what));
  HVD_RETURN_IF_ERROR(mpi_allreduce(host_shard, host_shard, shard_count, response.dtype, op,
                                    hierarchy_->cross_comm(), hierarchy_->reduction_ops())
                          .with_context(what + ": across hosts"));
  HVD_RETURN_IF_ERROR(plane_->copy_to_device(host_shard, shard, shard_bytes));
  HVD_RETURN_IF_ERROR(
      plane_->local_allgather(shard, packed, bytes).with_context(what + ": within the host"));
  RuntimeCounters::add(counters_->allreduce_calls, 1);
  RuntimeCounters::add(counters_->bytes_reduced, packed_bytes);
  if (entries.size() > 1)
    RuntimeCounters::add(counters_->fused_allreduce_calls, 1);
  const double postscale = response.postscale * (average ? 1.0 / topology.size : 1.0);
  return unpack(packed, entries, response.dtype, postscale);
}

StatusOr<void*> DeviceAllreduceExecutor::fusion_buffer(std::int64_t bytes) {
  // At least the fusion threshold: the buffer grows once, not with each larger group (a
  // reallocation on the device), and again only if autotuning raises the threshold or one
  // hierarchical allreduce needs more.
  const std::int64_t threshold = counters_->fusion_threshold_bytes.load(std::memory_order_relaxed);
  return plane_->fusion_buffer(std::max(bytes, threshold));
}

Status DeviceAllreduceExecutor::pack(const std::vector<TensorTableEntry>& entries, char* buffer,
                                     DataType dtype, double prescale) {
  std::vector<DeviceCopy> copies;
  copies.reserve(entries.size());
  std::int64_t offset = 0;
  for (const TensorTableEntry& entry : entries) {
    copies.push_back(DeviceCopy{entry.input, buffer + offset, entry.num_elements()});
    offset += entry.byte_size();
  }
  return plane_->scaled_copies(copies, dtype, prescale);
}

Status DeviceAllreduceExecutor::unpack(const char* buffer,
                                       const std::vector<TensorTableEntry>& entries, DataType dtype,
                                       double postscale) {
  std::vector<DeviceCopy> copies;
  copies.reserve(entries.size());
  std::int64_t offset = 0;
  for (const TensorTableEntry& entry : entries) {
    copies.push_back(DeviceCopy{buffer + offset, entry.output, entry.num_elements()});
    offset += entry.byte_size();
  }
  if (!writes_overlap(copies, element_size_bytes(dtype)))
    return plane_->scaled_copies(copies, dtype, postscale);
  // Outputs the caller aliased (in-place ops on overlapping views of one tensor, say): a batch
  // runs its copies in any order, so these go one by one, in response order, and the last one
  // wins, as on the host path.
  for (const DeviceCopy& copy : copies)
    HVD_RETURN_IF_ERROR(plane_->scaled_copy(copy.src, copy.dst, copy.count, dtype, postscale));
  return Status::ok();
}

Status DeviceAllreduceExecutor::reduce(const void* input, void* output, std::int64_t count,
                                       const Response& response) {
  RuntimeCounters::add(counters_->allreduce_calls, 1);
  RuntimeCounters::add(counters_->bytes_reduced, count * element_size_bytes(response.dtype));
  return plane_->allreduce(input, output, count, response.dtype, response.reduce_op);
}

Status DeviceAllreduceExecutor::enqueue_single(const Response& response,
                                               const TensorTableEntry& entry) {
  const std::int64_t count = entry.num_elements();
  const void* input = entry.input;
  if (response.prescale != 1.0) {
    HVD_RETURN_IF_ERROR(
        plane_->scaled_copy(entry.input, entry.output, count, response.dtype, response.prescale));
    input = entry.output;
  }
  HVD_RETURN_IF_ERROR(
      reduce(input, entry.output, count, response).with_context("allreduce '" + entry.name + "'"));
  if (response.postscale != 1.0) {
    HVD_RETURN_IF_ERROR(
        plane_->scaled_copy(entry.output, entry.output, count, response.dtype, response.postscale));
  }
  return Status::ok();
}

Status DeviceAllreduceExecutor::enqueue_fused(const Response& response,
                                              const std::vector<TensorTableEntry>& entries) {
  std::int64_t bytes = 0;
  for (const TensorTableEntry& entry : entries)
    bytes += entry.byte_size();
  HVD_ASSIGN_OR_RETURN(void* buffer_memory, fusion_buffer(bytes));
  char* const buffer = static_cast<char*>(buffer_memory);
  HVD_RETURN_IF_ERROR(pack(entries, buffer, response.dtype, response.prescale));
  HVD_RETURN_IF_ERROR(reduce(buffer, buffer, bytes / element_size_bytes(response.dtype), response)
                          .with_context("fused allreduce of " + std::to_string(entries.size()) +
                                        " tensors starting with '" + entries.front().name + "'"));
  RuntimeCounters::add(counters_->fused_allreduce_calls, 1);
  return unpack(buffer, entries, response.dtype, response.postscale);
}

}  // namespace hvd
