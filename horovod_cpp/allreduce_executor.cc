#include "horovod_cpp/allreduce_executor.h"

#include "collectives/mpi_allreduce.h"
#include "collectives/scaled_copy.h"

namespace hvd {

namespace {

// Marks one step on the timeline rows of entries [first, end), for as long as it lives.
class TimelineSpan {
 public:
  TimelineSpan(Timeline* timeline, const std::vector<TensorTableEntry>& entries, size_t first,
               size_t end, const char* activity)
      : timeline_(timeline), entries_(entries), first_(first), end_(end), activity_(activity) {
    if (timeline_->active()) {
      for (size_t i = first_; i < end_; ++i)
        timeline_->begin(entries_[i].name, activity_);
    }
  }
  ~TimelineSpan() {
    if (timeline_->active()) {
      for (size_t i = first_; i < end_; ++i)
        timeline_->end(entries_[i].name, activity_);
    }
  }
  TimelineSpan(const TimelineSpan&) = delete;
  TimelineSpan& operator=(const TimelineSpan&) = delete;

 private:
  Timeline* const timeline_;
  const std::vector<TensorTableEntry>& entries_;
  const size_t first_;
  const size_t end_;
  const char* const activity_;
};

}  // namespace

AllreduceExecutor::AllreduceExecutor(const MpiContext* mpi, RuntimeCounters* counters,
                                     Timeline* timeline)
    : mpi_(mpi), counters_(counters), timeline_(timeline) {}

Status AllreduceExecutor::execute(const Response& response,
                                  const std::vector<TensorTableEntry>& entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].num_elements() != response.element_counts[i]) {
      return Status::error("internal: allreduce '" + entries[i].name + "' has " +
                           std::to_string(entries[i].num_elements()) +
                           " elements here but the coordinator planned " +
                           std::to_string(response.element_counts[i]));
    }
  }
  return reduce_in_pieces(response, entries);
}

Status AllreduceExecutor::reduce(const void* input, void* output, std::int64_t count,
                                 const Response& response) {
  const ReduceOp op = response.reduce_op == ReduceOp::Average ? ReduceOp::Sum : response.reduce_op;
  RuntimeCounters::add(counters_->allreduce_calls, 1);
  RuntimeCounters::add(counters_->bytes_reduced, count * element_size_bytes(response.dtype));
  return mpi_allreduce(input, output, count, response.dtype, op, mpi_->data_comm(),
                       mpi_->reduction_ops());
}

Status AllreduceExecutor::reduce_single(const Response& response, const TensorTableEntry& entry) {
  const std::int64_t count = entry.num_elements();
  const void* input = entry.input;
  if (response.prescale != 1.0) {
    scaled_copy(entry.input, entry.output, count, response.dtype, response.prescale);
    input = entry.output;
  }
  HVD_RETURN_IF_ERROR(
      reduce(input, entry.output, count, response).with_context("allreduce '" + entry.name + "'"));
  finish(response, entry.output, entry.output, count);
  return Status::ok();
}

Status AllreduceExecutor::reduce_in_pieces(const Response& response,
                                           const std::vector<TensorTableEntry>& entries) {
  // Consecutive tensors up to kFusedPieceBytes (or one larger tensor) make a piece. A piece of
  // one tensor (an unfused response, a larger tensor, or a group's last one left alone) is
  // reduced in place, without the two copies through the buffer.
  size_t first = 0;
  while (first < entries.size()) {
    std::int64_t bytes = entries[first].byte_size();
    size_t end = first + 1;
    while (end < entries.size() && bytes + entries[end].byte_size() <= kFusedPieceBytes) {
      bytes += entries[end].byte_size();
      ++end;
    }
    if (end - first == 1) {
      TimelineSpan span(timeline_, entries, first, end, "MPI_ALLREDUCE");
      HVD_RETURN_IF_ERROR(reduce_single(response, entries[first]));
    } else {
      HVD_RETURN_IF_ERROR(reduce_piece(response, entries, first, end, bytes));
    }
    first = end;
  }
  return Status::ok();
}

Status AllreduceExecutor::reduce_piece(const Response& response,
                                       const std::vector<TensorTableEntry>& entries, size_t first,
                                       size_t end, std::int64_t bytes) {
  if (static_cast<std::int64_t>(fusion_buffer_.size()) < bytes)
    fusion_buffer_.resize(static_cast<size_t>(bytes));
  char* buffer = fusion_buffer_.data();
  std::int64_t offset = 0;
  {
    TimelineSpan span(timeline_, entries, first, end, "MEMCPY_IN_FUSION_BUFFER");
    for (size_t i = first; i < end; ++i) {
      scaled_copy(entries[i].input, buffer + offset, entries[i].num_elements(), response.dtype,
                  response.prescale);
      offset += entries[i].byte_size();
    }
  }
  const std::int64_t count = bytes / element_size_bytes(response.dtype);
  {
    TimelineSpan span(timeline_, entries, first, end, "MPI_ALLREDUCE");
    HVD_RETURN_IF_ERROR(reduce(buffer, buffer, count, response)
                            .with_context("fused allreduce of " + std::to_string(entries.size()) +
                                          " tensors starting with '" + entries.front().name + "'"));
  }
  RuntimeCounters::add(counters_->fused_allreduce_calls, 1);
  TimelineSpan span(timeline_, entries, first, end, "MEMCPY_OUT_FUSION_BUFFER");
  offset = 0;
  for (size_t i = first; i < end; ++i) {
    finish(response, buffer + offset, entries[i].output, entries[i].num_elements());
    offset += entries[i].byte_size();
  }
  return Status::ok();
}

void AllreduceExecutor::finish(const Response& response, const void* src, void* dst,
                               std::int64_t count) const {
  const bool average = response.reduce_op == ReduceOp::Average;
  const int size = mpi_->topology().size;
  if (is_floating_point(response.dtype)) {
    const double factor = response.postscale * (average ? 1.0 / size : 1.0);
    scaled_copy(src, dst, count, response.dtype, factor);
    return;
  }
  scaled_copy(src, dst, count, response.dtype, 1.0);
  if (average)
    divide_integers(dst, count, response.dtype, size);
  if (response.postscale != 1.0)
    scaled_copy(dst, dst, count, response.dtype, response.postscale);
}

}  // namespace hvd
