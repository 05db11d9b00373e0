#include "collectives/cuda_device_plane.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "collectives/cuda_check.h"
#include "collectives/cuda_device_scope.h"
#include "collectives/cuda_ready_event.h"
#include "collectives/cuda_stream_capture.h"
#include "collectives/device_scaled_copy.h"

namespace hvd {
namespace {

// Joining the NCCL communicator; a peer that never joins makes it an error after this.
constexpr std::chrono::seconds kJoinLimit{120};
// What the plane's destructor waits for queued work before it aborts the communicator.
constexpr std::chrono::seconds kDrainLimit{60};

// Whether `stream` ran out of work within `limit` (polled: a synchronize cannot be bounded).
bool stream_idle_within(cudaStream_t stream, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (cudaStreamQuery(stream) == cudaErrorNotReady) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

// The background and finalizer threads reach CUDA through the plane, whose methods and polls
// begin here (or in create()): they poll events while a user may be capturing a CUDA graph
// (cuda_stream_capture.h). The user's thread never calls these.
cudaError_t select_on_runtime_thread(int device) {
  relax_capture_checks_on_runtime_thread();
  return cudaSetDevice(device);
}

}  // namespace

StatusOr<std::shared_ptr<const CudaReadyEvent>> CudaReadyEvent::record(int device,
                                                                       cudaStream_t stream) {
  // On the user's thread: leave its CUDA context as it was (torch reads its device from it).
  CudaDeviceScope scope(device);
  HVD_RETURN_IF_CUDA_ERROR(scope.selected());
  const Status capturing =
      refuse_if_capturing(stream, "queueing an op on GPU " + std::to_string(device));
  cudaEvent_t event = nullptr;
  cudaError_t rc = cudaSuccess;
  std::shared_ptr<const CudaReadyEvent> ready;
  if (capturing.is_ok())
    rc = cudaEventCreateWithFlags(&event, cudaEventDisableTiming);
  if (capturing.is_ok() && rc == cudaSuccess) {
    ready.reset(new CudaReadyEvent(device, event));
    rc = cudaEventRecord(event, stream);
  }
  const Status restored = scope.restore();
  HVD_RETURN_IF_ERROR(capturing);
  HVD_RETURN_IF_CUDA_ERROR(rc);
  HVD_RETURN_IF_ERROR(restored);
  return ready;
}

StatusOr<std::shared_ptr<const DeviceEvent>> record_cuda_ready_event(int device,
                                                                     cudaStream_t stream) {
  HVD_ASSIGN_OR_RETURN(std::shared_ptr<const CudaReadyEvent> event,
                       CudaReadyEvent::record(device, stream));
  return std::shared_ptr<const DeviceEvent>(std::move(event));
}

Status rerecord_cuda_ready_event(const DeviceEvent& ready, int device, cudaStream_t stream) {
  const auto* event = dynamic_cast<const CudaReadyEvent*>(&ready);
  if (event == nullptr)
    return Status::error("internal: a ready event that is not a CUDA event");
  CudaDeviceScope scope(device);
  HVD_RETURN_IF_CUDA_ERROR(scope.selected());
  // Recorded into a capture, the event would never happen outside the graph.
  const Status capturing =
      refuse_if_capturing(stream, "an op on GPU " + std::to_string(device) +
                                      " queued before its stream began capturing");
  const cudaError_t rc = capturing.is_ok() ? cudaEventRecord(event->event(), stream) : cudaSuccess;
  const Status restored = scope.restore();
  HVD_RETURN_IF_ERROR(capturing);
  HVD_RETURN_IF_CUDA_ERROR(rc);
  HVD_RETURN_IF_ERROR(restored);
  return Status::ok();
}

CudaReadyEvent::~CudaReadyEvent() {
  // On any thread, the last owner's (a user's, or the runtime's after an error response): on
  // the event's device, as in happened(), leaving the thread's context as it was.
  CudaDeviceScope scope(device_);
  cudaEventDestroy(event_);
}

StatusOr<bool> CudaReadyEvent::happened() const {
  HVD_RETURN_IF_CUDA_ERROR(select_on_runtime_thread(device_));
  const cudaError_t queried = cudaEventQuery(event_);
  if (queried == cudaErrorNotReady)
    return false;
  HVD_RETURN_IF_CUDA_ERROR(queried);
  return true;
}

StatusOr<std::unique_ptr<DevicePlane>> CudaDevicePlane::create(int device, const MpiContext& mpi) {
  relax_capture_checks_on_runtime_thread();  // made on the background thread
  const Topology& topology = mpi.topology();
  int visible = 0;
  const cudaError_t counted = cudaGetDeviceCount(&visible);
  if (device == kCpuDevice && counted == cudaSuccess && visible > 0)
    device = topology.local_rank % visible;  // the runtime left the choice to us
  // Every rank goes on to the communicator's device check, which is collective and names the
  // ranks that cannot use their device; this rank adds why.
  std::string why;
  if (counted != cudaSuccess) {
    why = std::string("this rank sees no CUDA device: ") + cudaGetErrorString(counted);
  } else if (device < 0 || device >= visible) {
    why = "rank " + std::to_string(topology.rank) + " (local rank " +
          std::to_string(topology.local_rank) + ") selects GPU " + std::to_string(device) +
          ", but only " + std::to_string(visible) + " are visible to it";
  }
  StatusOr<std::unique_ptr<NcclCommunicator>> nccl =
      NcclCommunicator::create(mpi.data_comm(), device, kJoinLimit);
  if (!nccl.is_ok())
    return why.empty() ? nccl.status() : nccl.status().with_context(why);
  HVD_RETURN_IF_CUDA_ERROR(cudaSetDevice(device));
  cudaStream_t stream = nullptr;
  HVD_RETURN_IF_CUDA_ERROR(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return std::unique_ptr<DevicePlane>(new CudaDevicePlane(device, topology.rank,
                                                          topology.local_rank, mpi.local_comm(),
                                                          stream, std::move(nccl).value()));
}

CudaDevicePlane::CudaDevicePlane(int device, int rank, int local_rank, MPI_Comm local_comm,
                                 cudaStream_t stream, std::unique_ptr<NcclCommunicator> nccl)
    : device_(device),
      rank_(rank),
      local_rank_(local_rank),
      local_comm_(local_comm),
      stream_(stream),
      nccl_(std::make_shared<Nccl>()) {
  MutexLock lock(&nccl_->mu);
  nccl_->communicator = std::move(nccl);
}

CudaDevicePlane::~CudaDevicePlane() {
  // On whichever thread shuts the runtime down (often the user's): leave its device as found.
  CudaDeviceScope scope(device_);
  {
    // Bounded: a stream stuck on a failed peer is aborted (NcclCommunicator::wait), not
    // waited for; through each communicator in turn, since either may hold the stream.
    MutexLock lock(&nccl_->mu);
    (void)nccl_->communicator->wait(stream_, kDrainLimit);  // nobody left to tell
    if (nccl_->local_communicator)
      (void)nccl_->local_communicator->wait(stream_, kDrainLimit);
    // The communicators go before the stream their work ran on (NCCL's own examples do so).
    nccl_->local_communicator.reset();
    nccl_->communicator.reset();
  }
  if (fusion_buffer_ != nullptr)
    cudaFreeAsync(fusion_buffer_, stream_);
  // Drained or aborted above, so only the free remains; unless an abort was left running
  // (NcclCommunicator's bound on it), when what the stream may still use is left alone.
  if (stream_idle_within(stream_, kDrainLimit)) {
    cudaStreamDestroy(stream_);
    for (void* host : host_buffers_)
      cudaFreeHost(host);
  } else {
    std::fprintf(stderr,
                 "[hvd] WARNING: GPU %d: the data plane's stream was still busy after %lld s; "
                 "its stream and buffers are left as they are\n",
                 device_, static_cast<long long>(kDrainLimit.count()));
  }
}

Status CudaDevicePlane::wait_for(const DeviceEvent& ready) {
  const auto* event = dynamic_cast<const CudaReadyEvent*>(&ready);
  if (event == nullptr)
    return Status::error("internal: a ready event that is not a CUDA event");
  HVD_RETURN_IF_CUDA_ERROR(select_on_runtime_thread(device_));
  HVD_RETURN_IF_CUDA_ERROR(cudaStreamWaitEvent(stream_, event->event(), 0));
  return Status::ok();
}

StatusOr<void*> CudaDevicePlane::fusion_buffer(std::int64_t bytes) {
  if (bytes <= fusion_bytes_)
    return fusion_buffer_;
  HVD_RETURN_IF_CUDA_ERROR(select_on_runtime_thread(device_));
  // Stream-ordered: the old buffer is freed after the work already queued on it, and nothing
  // waits for the device (cudaFree would wait for every stream on it).
  if (fusion_buffer_ != nullptr) {
    HVD_RETURN_IF_CUDA_ERROR(cudaFreeAsync(fusion_buffer_, stream_));
    fusion_buffer_ = nullptr;
    fusion_bytes_ = 0;
  }
  HVD_RETURN_IF_CUDA_ERROR(cudaMallocAsync(&fusion_buffer_, static_cast<size_t>(bytes), stream_));
  fusion_bytes_ = bytes;
  return fusion_buffer_;
}

StatusOr<std::shared_ptr<void>> CudaDevicePlane::zeroed(std::int64_t bytes) {
  HVD_RETURN_IF_CUDA_ERROR(select_on_runtime_thread(device_));
  const auto size = static_cast<size_t>(std::max<std::int64_t>(bytes, 1));
  void* memory = nullptr;
  HVD_RETURN_IF_CUDA_ERROR(cudaMallocAsync(&memory, size, stream_));
  // Freed on the plane's stream when the op's completion lets go of it (the plane outlives
  // the finalizer, so the stream is still there).
  const int device = device_;
  const cudaStream_t stream = stream_;
  std::shared_ptr<void> owned(memory, [device, stream](void* p) {
    cudaSetDevice(device);
    cudaFreeAsync(p, stream);
  });
  HVD_RETURN_IF_CUDA_ERROR(cudaMemsetAsync(memory, 0, size, stream_));
  return owned;
}

Status CudaDevicePlane::scaled_copy(const void* src, void* dst, std::int64_t count, DataType dtype,
                                    double factor) {
  HVD_RETURN_IF_CUDA_ERROR(select_on_runtime_thread(device_));
  HVD_RETURN_IF_CUDA_ERROR(launch_scaled_copy(src, dst, count, dtype, factor, stream_));
  return Status::ok();
}

Status CudaDevicePlane::scaled_copies(const std::vector<DeviceCopy>& copies, DataType dtype,
                                      double factor) {
  std::vector<ScaledCopyRange> ranges(copies.size());
  for (std::size_t i = 0; i < copies.size(); ++i)
    ranges[i] = ScaledCopyRange{copies[i].src, copies[i].dst, copies[i].count};
  HVD_RETURN_IF_CUDA_ERROR(select_on_runtime_thread(device_));
  HVD_RETURN_IF_CUDA_ERROR(launch_scaled_copies(
      ranges.data(), static_cast<std::int64_t>(ranges.size()), dtype, factor, stream_));
  return Status::ok();
}

Status CudaDevicePlane::allreduce(const void* send, void* recv, std::int64_t count, DataType dtype,
                                  ReduceOp op) {
  if (count == 0)
    return Status::ok();  // as for every collective here: every rank skips it
  MutexLock lock(&nccl_->mu);
  return nccl_->communicator->allreduce(send, recv, static_cast<std::size_t>(count), dtype, op,
                                        /*premultiply=*/1.0, stream_);
}

Status CudaDevicePlane::broadcast(void* buffer, std::int64_t count, DataType dtype, int root) {
  if (count == 0)
    return Status::ok();
  MutexLock lock(&nccl_->mu);
  return nccl_->communicator->broadcast(buffer, static_cast<std::size_t>(count), dtype, root,
                                        stream_);
}

Status CudaDevicePlane::allgather(const void* send, void* recv,
                                  const std::vector<std::int64_t>& bytes_by_rank) {
  MutexLock lock(&nccl_->mu);
  return nccl_->communicator->allgatherv(send, recv, bytes_by_rank, rank_, stream_);
}

Status CudaDevicePlane::reducescatter(const void* send, void* recv,
                                      const std::vector<std::int64_t>& counts_by_rank,
                                      DataType dtype, ReduceOp op) {
  MutexLock lock(&nccl_->mu);
  return nccl_->communicator->reducescatterv(send, recv, counts_by_rank, dtype, op, stream_);
}

Status CudaDevicePlane::alltoall(const void* send, const std::vector<std::int64_t>& send_bytes,
                                 void* recv, const std::vector<std::int64_t>& recv_bytes) {
  MutexLock lock(&nccl_->mu);
  return nccl_->communicator->alltoallv(send, send_bytes, recv, recv_bytes, stream_);
}

Status CudaDevicePlane::start_local_communicator() {
  {
    MutexLock lock(&nccl_->mu);
    if (nccl_->local_communicator)
      return Status::ok();
  }
  // Made without the lock (MPI, and NCCL's bootstrap: seconds), which the finalizer's poll
  // takes; only the background thread makes it.
  StatusOr<std::unique_ptr<NcclCommunicator>> made =
      NcclCommunicator::create(local_comm_, device_, kJoinLimit);
  if (!made.is_ok())
    return made.status().with_context("the NCCL communicator of this host's ranks");
  MutexLock lock(&nccl_->mu);
  nccl_->local_communicator = std::move(made).value();
  return Status::ok();
}

Status CudaDevicePlane::local_reducescatter(const void* send, void* recv,
                                            const std::vector<std::int64_t>& counts_by_local_rank,
                                            DataType dtype, ReduceOp op) {
  HVD_RETURN_IF_ERROR(start_local_communicator());
  MutexLock lock(&nccl_->mu);
  return nccl_->local_communicator->reducescatterv(send, recv, counts_by_local_rank, dtype, op,
                                                   stream_);
}

Status CudaDevicePlane::local_allgather(const void* send, void* recv,
                                        const std::vector<std::int64_t>& bytes_by_local_rank) {
  HVD_RETURN_IF_ERROR(start_local_communicator());
  MutexLock lock(&nccl_->mu);
  return nccl_->local_communicator->allgatherv(send, recv, bytes_by_local_rank, local_rank_,
                                               stream_);
}

StatusOr<void*> CudaDevicePlane::host_buffer(std::int64_t bytes) {
  if (!host_buffers_.empty() && bytes <= host_bytes_)
    return host_buffers_.back();
  HVD_RETURN_IF_CUDA_ERROR(select_on_runtime_thread(device_));
  void* memory = nullptr;
  const std::int64_t grown = std::max(bytes, 2 * host_bytes_);  // few replacements kept
  HVD_RETURN_IF_CUDA_ERROR(
      cudaMallocHost(&memory, static_cast<size_t>(std::max<std::int64_t>(grown, 1))));
  host_buffers_.push_back(memory);
  host_bytes_ = grown;
  return memory;
}

Status CudaDevicePlane::copy_to_host(const void* device_src, void* host_dst, std::int64_t bytes) {
  HVD_RETURN_IF_CUDA_ERROR(select_on_runtime_thread(device_));
  HVD_RETURN_IF_CUDA_ERROR(cudaMemcpyAsync(host_dst, device_src, static_cast<size_t>(bytes),
                                           cudaMemcpyDeviceToHost, stream_));
  return Status::ok();
}

Status CudaDevicePlane::copy_to_device(const void* host_src, void* device_dst, std::int64_t bytes) {
  HVD_RETURN_IF_CUDA_ERROR(select_on_runtime_thread(device_));
  HVD_RETURN_IF_CUDA_ERROR(cudaMemcpyAsync(device_dst, host_src, static_cast<size_t>(bytes),
                                           cudaMemcpyHostToDevice, stream_));
  return Status::ok();
}

CompletionFinalizer::Poll CudaDevicePlane::completion() {
  cudaEvent_t event = nullptr;
  cudaError_t made = select_on_runtime_thread(device_);
  if (made == cudaSuccess)
    made = cudaEventCreateWithFlags(&event, cudaEventDisableTiming);
  if (made == cudaSuccess)
    made = cudaEventRecord(event, stream_);
  if (made != cudaSuccess) {
    if (event != nullptr)
      cudaEventDestroy(event);
    const Status failed = HVD_CUDA_STATUS(made);
    return [failed]() -> StatusOr<bool> { return failed; };
  }
  std::shared_ptr<CUevent_st> done(event, [](cudaEvent_t e) { cudaEventDestroy(e); });
  // The finalizer thread polls: on this plane's device (see CudaReadyEvent::happened).
  return [done, nccl = nccl_, device = device_]() -> StatusOr<bool> {
    HVD_RETURN_IF_CUDA_ERROR(select_on_runtime_thread(device));
    const cudaError_t state = cudaEventQuery(done.get());
    if (state == cudaSuccess)
      return true;
    if (state != cudaErrorNotReady)
      return HVD_CUDA_STATUS(state);
    // Still running: a collective waiting for a peer that failed would never finish.
    MutexLock lock(&nccl->mu);
    HVD_RETURN_IF_ERROR(nccl->communicator->async_error());
    if (nccl->local_communicator)
      HVD_RETURN_IF_ERROR(nccl->local_communicator->async_error());
    return false;
  };
}

}  // namespace hvd
