// The GPU data plane on CUDA and NCCL (device_plane.h): one non-blocking stream per rank on
// its device, a device fusion buffer (stream-ordered cudaMallocAsync/cudaFreeAsync, so growing
// it waits for nothing), scaled copies as kernels (device_scaled_copy.h), and collectives
// through NcclCommunicator (a count of 0 skips the call on every rank). Completion is a CUDA event
// recorded after each op, polled with NCCL's asynchronous error so that a failed peer is an error,
// not a hang. Only compiled with HOROVOD_CPP_WITH_NCCL; the runtime's plane where LibTorch has CUDA
// too (cuda_plane_registration.cc). Not yet run on a GPU (issue 6):
// tests/gpu/cuda_device_plane_test.cc is its first check.
//
// Thread: the DevicePlane contract. The NCCL communicator is shared by the background thread
// (queueing) and the finalizer (polling its asynchronous error) under one mutex, because an
// error in a call aborts and frees the communicator. Those two threads (and the plane's
// create()) put themselves in CUDA's relaxed capture mode at their first call here, so a user
// capturing a CUDA graph meanwhile breaks neither them nor the capture; an op queued from a
// stream that is capturing is refused (cuda_stream_capture.h).
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <vector>

#include "collectives/nccl_communicator.h"
#include "horovod_cpp/device_plane.h"
#include "horovod_cpp/mutex.h"

namespace hvd {

// An op's input is ready: an event recorded on the caller's stream.
class CudaReadyEvent : public DeviceEvent {
 public:
  // Records on `stream` of `device` (the caller's current stream when the op is queued).
  static StatusOr<std::shared_ptr<const CudaReadyEvent>> record(int device, cudaStream_t stream);
  ~CudaReadyEvent() override;
  CudaReadyEvent(const CudaReadyEvent&) = delete;
  CudaReadyEvent& operator=(const CudaReadyEvent&) = delete;

  cudaEvent_t event() const { return event_; }
  // Selects the event's device on the calling thread first: a runtime thread's first CUDA call
  // would otherwise make a context on GPU 0, which on a node of several GPUs costs every rank
  // memory on a GPU that is not its own.
  StatusOr<bool> happened() const override;

 private:
  CudaReadyEvent(int device, cudaEvent_t event) : device_(device), event_(event) {}
  int device_;
  cudaEvent_t event_;
};

class CudaDevicePlane : public DevicePlane {
 public:
  // A DevicePlaneFactory. Collective (the NCCL communicator): errors name this rank's device
  // and the visible device count, or the ranks that share a GPU.
  static StatusOr<std::unique_ptr<DevicePlane>> create(int device, const MpiContext& mpi);
  ~CudaDevicePlane() override;  // waits for the stream, then frees

  int device() const override { return device_; }
  const char* activity_prefix() const override { return "NCCL"; }
  Status wait_for(const DeviceEvent& ready) override;
  StatusOr<void*> fusion_buffer(std::int64_t bytes) override;
  StatusOr<std::shared_ptr<void>> zeroed(std::int64_t bytes) override;
  Status scaled_copy(const void* src, void* dst, std::int64_t count, DataType dtype,
                     double factor) override;
  Status scaled_copies(const std::vector<DeviceCopy>& copies, DataType dtype,
                       double factor) override;
  Status allreduce(const void* send, void* recv, std::int64_t count, DataType dtype,
                   ReduceOp op) override;
  Status broadcast(void* buffer, std::int64_t count, DataType dtype, int root) override;
  Status allgather(const void* send, void* recv,
                   const std::vector<std::int64_t>& bytes_by_rank) override;
  Status reducescatter(const void* send, void* recv,
                       const std::vector<std::int64_t>& counts_by_rank, DataType dtype,
                       ReduceOp op) override;
  Status alltoall(const void* send, const std::vector<std::int64_t>& send_bytes, void* recv,
                  const std::vector<std::int64_t>& recv_bytes) override;
  // Over a second communicator of this host's ranks, made at the first call (collective over
  // them: every local rank runs the same hierarchical allreduce).
  Status local_reducescatter(const void* send, void* recv,
                             const std::vector<std::int64_t>& counts_by_local_rank, DataType dtype,
                             ReduceOp op) override;
  Status local_allgather(const void* send, void* recv,
                         const std::vector<std::int64_t>& bytes_by_local_rank) override;
  StatusOr<void*> host_buffer(std::int64_t bytes) override;  // cudaMallocHost
  Status copy_to_host(const void* device_src, void* host_dst, std::int64_t bytes) override;
  Status copy_to_device(const void* host_src, void* device_dst, std::int64_t bytes) override;
  CompletionFinalizer::Poll completion() override;

 private:
  struct Nccl {
    Mutex mu;
    std::unique_ptr<NcclCommunicator> communicator HVD_GUARDED_BY(mu);
    std::unique_ptr<NcclCommunicator> local_communicator HVD_GUARDED_BY(mu);  // or none yet
  };
  CudaDevicePlane(int device, int rank, int local_rank, MPI_Comm local_comm, cudaStream_t stream,
                  std::unique_ptr<NcclCommunicator> nccl);
  // Makes the local communicator at the first call (background thread only).
  Status start_local_communicator() HVD_EXCLUDES(nccl_->mu);

  const int device_;
  const int rank_;
  const int local_rank_;
  const MPI_Comm local_comm_;  // the MpiContext's, which outlives the plane
  const cudaStream_t stream_;
  const std::shared_ptr<Nccl> nccl_;
  void* fusion_buffer_ = nullptr;
  std::int64_t fusion_bytes_ = 0;
  std::vector<void*> host_buffers_;  // page-locked; the last is current, queued copies use older
  std::int64_t host_bytes_ = 0;
};

}  // namespace hvd
