#include "horovod_cpp/reducescatter_op.h"

#include "collectives/mpi_reducescatter.h"
#include "collectives/scaled_copy.h"

namespace hvd {

std::vector<std::int64_t> reducescatter_block_elements(const std::vector<std::int64_t>& shape,
                                                       int size) {
  std::int64_t row_elements = 1;
  for (size_t d = 1; d < shape.size(); ++d)
    row_elements *= shape[d];
  std::vector<std::int64_t> block_elements;
  for (int r = 0; r < size; ++r)
    block_elements.push_back(reducescatter_rows(shape[0], r, size) * row_elements);
  return block_elements;
}

Status run_reducescatter(const Response& response, const TensorTableEntry& entry,
                         const MpiContext& mpi) {
  const std::string context = "reducescatter '" + entry.name + "'";
  const int rank = mpi.topology().rank;
  const int size = mpi.topology().size;
  const std::vector<std::int64_t> block_elements = reducescatter_block_elements(entry.shape, size);
  std::vector<std::int64_t> shape = entry.shape;
  shape[0] = reducescatter_rows(entry.shape[0], rank, size);
  if (!entry.allocate_output)
    return Status::error(context + ": internal: no output allocator");
  StatusOr<void*> output = entry.allocate_output(shape);
  if (!output.is_ok())
    return output.status().with_context(context);
  const bool average = response.reduce_op == ReduceOp::Average;
  HVD_RETURN_IF_ERROR(mpi_reducescatter(entry.input, output.value(), block_elements, response.dtype,
                                        average ? ReduceOp::Sum : response.reduce_op,
                                        mpi.data_comm(), mpi.reduction_ops())
                          .with_context(context));
  if (average) {
    const std::int64_t count = block_elements[rank];
    if (is_floating_point(response.dtype))
      scaled_copy(output.value(), output.value(), count, response.dtype, 1.0 / size);
    else
      divide_integers(output.value(), count, response.dtype, size);
  }
  return Status::ok();
}

}  // namespace hvd
