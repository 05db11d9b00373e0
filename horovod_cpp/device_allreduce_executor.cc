#include "horovod_cpp/device_allreduce_executor.h"

namespace hvd {

DeviceAllreduceExecutor::DeviceAllreduceExecutor(DevicePlane* plane, RuntimeCounters* counters)
    : plane_(plane), counters_(counters) {}

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
  if (entries.size() == 1)
    return enqueue_single(response, entries.front());
  return enqueue_fused(response, entries);
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
  HVD_ASSIGN_OR_RETURN(void* buffer_memory, plane_->fusion_buffer(bytes));
  char* const buffer = static_cast<char*>(buffer_memory);
  std::int64_t offset = 0;
  for (const TensorTableEntry& entry : entries) {
    HVD_RETURN_IF_ERROR(plane_->scaled_copy(entry.input, buffer + offset, entry.num_elements(),
                                            response.dtype, response.prescale));
    offset += entry.byte_size();
  }
  HVD_RETURN_IF_ERROR(reduce(buffer, buffer, bytes / element_size_bytes(response.dtype), response)
                          .with_context("fused allreduce of " + std::to_string(entries.size()) +
                                        " tensors starting with '" + entries.front().name + "'"));
  RuntimeCounters::add(counters_->fused_allreduce_calls, 1);
  offset = 0;
  for (const TensorTableEntry& entry : entries) {
    HVD_RETURN_IF_ERROR(plane_->scaled_copy(buffer + offset, entry.output, entry.num_elements(),
                                            response.dtype, response.postscale));
    offset += entry.byte_size();
  }
  return Status::ok();
}

}  // namespace hvd
