// One NCCL communicator over the ranks of an MPI communicator, each rank on its own CUDA
// device: the GPU data plane's collectives. Only compiled with HOROVOD_CPP_WITH_NCCL.
//
// Never hang: the communicator is created non-blocking (ncclConfig_t::blocking = 0), so every
// NCCL call returns at once and is settled by polling ncclCommGetAsyncError with a deadline;
// wait() polls the same while the stream drains, so a peer that failed or vanished becomes an
// error instead of a stuck stream. After any error the communicator is aborted
// (ncclCommAbort) and every later call fails with the first error.
//
// Thread: one owner at a time (the background thread; tests). NCCL requires calls on one
// communicator to come from one thread at a time.
#pragma once

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <mpi.h>
#include <nccl.h>

#include "horovod_cpp/data_type.h"
#include "horovod_cpp/horovod.h"
#include "horovod_cpp/status.h"

namespace hvd {

class NcclCommunicator {
 public:
  // Collective over `comm`: every rank calls it with its own device. Before NCCL is touched the
  // ranks compare devices over MPI, so two ranks of one host on the same GPU (which NCCL
  // refuses, after a hang on some versions) is an error on every rank naming the ranks and the
  // device. Then rank 0 makes the unique id, MPI_Bcast hands it out, and each rank joins;
  // joining is bounded by `limit`.
  static StatusOr<std::unique_ptr<NcclCommunicator>> create(MPI_Comm comm, int device,
                                                            std::chrono::milliseconds limit);
  ~NcclCommunicator();  // ncclCommDestroy, or ncclCommAbort after an error
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int device() const { return device_; }
  int size() const { return size_; }

  // Each enqueues one collective on `stream` (of this communicator's device) and returns once
  // NCCL has taken it; wait() for the result. `count` is in elements of `dtype`.
  //
  // allreduce: Average is ncclAvg (integers: the sum divided by size(), truncated toward zero,
  // as on the CPU path). `premultiply` != 1 scales each input first (ncclRedOpCreatePreMulSum),
  // for floating dtypes with Sum or Average only.
  Status allreduce(const void* send, void* recv, std::size_t count, DataType dtype, ReduceOp op,
                   double premultiply, cudaStream_t stream);
  Status broadcast(void* buffer, std::size_t count, DataType dtype, int root, cudaStream_t stream);
  // recv holds size() blocks of count_per_rank elements, in rank order.
  Status allgather(const void* send, void* recv, std::size_t count_per_rank, DataType dtype,
                   cudaStream_t stream);
  // Bytes: recv holds bytes_by_rank[r] bytes from each rank r, in rank order; this rank sends
  // bytes_by_rank[rank] from send. Equal counts are one ncclAllGather, others one broadcast per
  // rank in a group (ranks with nothing to send are skipped on every rank).
  Status allgatherv(const void* send, void* recv, const std::vector<std::int64_t>& bytes_by_rank,
                    int rank, cudaStream_t stream);
  // send holds size() blocks of count_per_rank elements; this rank gets its block, reduced.
  Status reducescatter(const void* send, void* recv, std::size_t count_per_rank, DataType dtype,
                       ReduceOp op, cudaStream_t stream);

  // send holds size() blocks of counts_by_rank[r] elements, in rank order; this rank gets its
  // block, reduced. Equal blocks are one ncclReduceScatter, others one ncclReduce per rank
  // (rooted at the block's owner) in a group; blocks of no elements are skipped on every rank.
  Status reducescatterv(const void* send, void* recv,
                        const std::vector<std::int64_t>& counts_by_rank, DataType dtype,
                        ReduceOp op, cudaStream_t stream);
  // Bytes: this rank sends send_bytes[r] bytes to rank r from consecutive blocks of send and
  // receives recv_bytes[r] from rank r into consecutive blocks of recv (one ncclSend and one
  // ncclRecv per peer with bytes to move, this rank included, in a group).
  Status alltoallv(const void* send, const std::vector<std::int64_t>& send_bytes, void* recv,
                   const std::vector<std::int64_t>& recv_bytes, cudaStream_t stream);

  // Until everything enqueued on `stream` has run, or an asynchronous NCCL error (a failed
  // peer), or `limit` passes (then it aborts the communicator: the stream may never drain).
  Status wait(cudaStream_t stream, std::chrono::milliseconds limit);

  // An asynchronous error of the communicator (a failed peer), or the earlier failure that
  // aborted it, without waiting. It does not abort the communicator. Callers serialize it
  // with the owner's calls (an error in one of those frees the communicator).
  Status async_error() const;

  // The NCCL type of a horovod_cpp dtype (Bool moves as bytes); an error for none.
  static StatusOr<ncclDataType_t> nccl_type(DataType dtype);

 private:
  NcclCommunicator(ncclComm_t comm, int device, int size);
  // Settles a non-blocking call: polls the async state until it leaves ncclInProgress.
  Status settle(ncclResult_t rc, const char* call, std::chrono::milliseconds limit);
  Status fail(Status failure);  // aborts; remembers the first failure
  // A call inside a group: its error, without aborting (the group must be closed first).
  Status issued(ncclResult_t rc, const char* call) const;
  // Runs `issue` between ncclGroupStart and ncclGroupEnd; the first error aborts, after the
  // group is closed.
  Status grouped(const std::function<Status()>& issue);

  ncclComm_t comm_;
  const int device_;
  const int size_;
  Status failed_;  // ok until the first error
};

}  // namespace hvd
