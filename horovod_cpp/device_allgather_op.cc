#include "horovod_cpp/device_allgather_op.h"

namespace hvd {

Status enqueue_device_allgather(const Response& response, const TensorTableEntry& entry, int size,
                                DevicePlane* plane, RuntimeCounters* counters) {
  const std::string what = "allgather '" + entry.name + "'";
  HVD_RETURN_IF_ERROR(check_on_plane(*plane, entry.on_device, entry.device, what));
  if (response.dim0_by_rank.size() != static_cast<size_t>(size) || entry.shape.empty()) {
    return Status::error("internal: " + what + " got " +
                         std::to_string(response.dim0_by_rank.size()) + " row counts for " +
                         std::to_string(size) + " ranks");
  }
  if (!entry.allocate_output)
    return Status::error("internal: " + what + " has no output allocator");
  std::int64_t row_bytes = element_size_bytes(entry.dtype);
  for (size_t d = 1; d < entry.shape.size(); ++d)
    row_bytes *= entry.shape[d];
  std::vector<std::int64_t> shape = entry.shape;
  shape[0] = 0;
  std::vector<std::int64_t> bytes_by_rank;
  for (std::int64_t rows : response.dim0_by_rank) {
    shape[0] += rows;
    bytes_by_rank.push_back(rows * row_bytes);
  }
  StatusOr<void*> output = entry.allocate_output(shape);
  if (!output.is_ok())
    return output.status().with_context(what + ": the output");
  if (entry.ready)
    HVD_RETURN_IF_ERROR(plane->wait_for(*entry.ready));
  RuntimeCounters::add(counters->allgather_calls, 1);
  return plane->allgather(entry.input, output.value(), bytes_by_rank).with_context(what);
}

}  // namespace hvd
