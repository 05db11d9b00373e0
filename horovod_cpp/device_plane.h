// The GPU data plane as the background thread sees it: one device's stream, on which the
// runtime queues an op's waits, copies and collective without waiting for any of them, and a
// poll that tells the finalizer thread when they have run. It is CUDA- and NCCL-free, so the
// runtime's device path (device_allreduce_executor.h) is tested on CPU against a simulated
// device (tests/multirank/simulated_device.h). The CUDA + NCCL plane is
// collectives/cuda_device_plane.h, registered where LibTorch has CUDA.
//
// Thread: the background thread makes every call, in response order on every rank; a Poll from
// completion() runs on the finalizer thread (or on the background thread, which waits for the
// device in the hierarchical allreduce). A plane lives until the runtime has stopped its
// finalizer. DeviceEvent::happened() may come from either thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collectives/mpi_context.h"
#include "horovod_cpp/completion_finalizer.h"
#include "horovod_cpp/data_type.h"
#include "horovod_cpp/op_type.h"
#include "horovod_cpp/status.h"

namespace hvd {

// The point on a user's stream after which an op's input holds its data (for CUDA: an event
// recorded on the caller's current stream when the op was queued, after the copy into host
// memory for an op staged there).
class DeviceEvent {
 public:
  virtual ~DeviceEvent() = default;
  // Whether the point has been reached, without waiting. From the runtime's threads only (the
  // background thread before a host op reads a staged input; the finalizer for the timeline's
  // WAIT_FOR_DATA), never a user's: it may select the event's device on the calling thread.
  virtual StatusOr<bool> happened() const = 0;
};

// One of a batch of copies (DevicePlane::scaled_copies): `count` elements from src to dst.
struct DeviceCopy {
  const void* src = nullptr;
  void* dst = nullptr;
  std::int64_t count = 0;
};
// Whether two of `copies` write overlapping memory (elements of `element_bytes`), which one
// batch (DevicePlane::scaled_copies) must not.
bool writes_overlap(const std::vector<DeviceCopy>& copies, std::int64_t element_bytes);

class DevicePlane {
 public:
  virtual ~DevicePlane() = default;

  virtual int device() const = 0;
  // What the timeline calls this plane's collectives: "NCCL" -> "NCCL_ALLREDUCE".
  virtual const char* activity_prefix() const = 0;

  // Each queues work on the plane's stream and returns at once; the stream runs it in order.
  // An error is this rank's alone (a bad argument, no memory): the caller ends the job.
  //
  // The stream waits until `ready` has happened (no host thread waits).
  virtual Status wait_for(const DeviceEvent& ready) = 0;
  // At least `bytes` of device memory, kept and reused, grown when too small. Work already
  // queued on the old buffer still runs first.
  virtual StatusOr<void*> fusion_buffer(std::int64_t bytes) = 0;
  // `bytes` of device memory that the stream fills with zeros before later work; freed when
  // the last copy of the pointer goes (after the work that uses it has completed).
  virtual StatusOr<std::shared_ptr<void>> zeroed(std::int64_t bytes) = 0;
  // dst[i] = src[i] * factor for `count` elements (factor 1: a plain copy; src may be dst).
  virtual Status scaled_copy(const void* src, void* dst, std::int64_t count, DataType dtype,
                             double factor) = 0;
  // scaled_copy for each of `copies`, which must not overlap (but for a src equal to its dst),
  // in any order: packing and unpacking the fusion buffer, where a kernel each would cost
  // more than many small copies.
  virtual Status scaled_copies(const std::vector<DeviceCopy>& copies, DataType dtype,
                               double factor) = 0;
  // Over every rank's plane. Average is the sum divided by the rank count (integers
  // truncated toward zero, as on the host path; floats may round differently from the host,
  // e.g. NCCL scales each contribution before it sums).
  virtual Status allreduce(const void* send, void* recv, std::int64_t count, DataType dtype,
                           ReduceOp op) = 0;
  // In place over every rank's plane: every rank's `buffer` gets the root's.
  virtual Status broadcast(void* buffer, std::int64_t count, DataType dtype, int root) = 0;
  // Bytes over every rank's plane: `recv` gets bytes_by_rank[r] bytes from each rank r, in
  // rank order; this rank sends bytes_by_rank[rank] bytes from `send`.
  virtual Status allgather(const void* send, void* recv,
                           const std::vector<std::int64_t>& bytes_by_rank) = 0;
  // Over every rank's plane: `send` holds one block per rank, in rank order, of
  // counts_by_rank[r] elements; this rank's `recv` gets its own block reduced over every rank
  // (Average as for allreduce).
  virtual Status reducescatter(const void* send, void* recv,
                               const std::vector<std::int64_t>& counts_by_rank, DataType dtype,
                               ReduceOp op) = 0;
  // Bytes over every rank's plane: this rank sends send_bytes[r] bytes to rank r from
  // consecutive blocks of `send`, and receives recv_bytes[r] bytes from rank r into consecutive
  // blocks of `recv`, in rank order.
  virtual Status alltoall(const void* send, const std::vector<std::int64_t>& send_bytes, void* recv,
                          const std::vector<std::int64_t>& recv_bytes) = 0;
  // The hierarchical allreduce's device steps (HOROVOD_HIERARCHICAL_ALLREDUCE): reducescatter
  // and allgather as above, over this host's ranks only (blocks by local rank).
  virtual Status local_reducescatter(const void* send, void* recv,
                                     const std::vector<std::int64_t>& counts_by_local_rank,
                                     DataType dtype, ReduceOp op) = 0;
  virtual Status local_allgather(const void* send, void* recv,
                                 const std::vector<std::int64_t>& bytes_by_local_rank) = 0;
  // At least `bytes` of host memory that the device copies by DMA (page-locked), kept and
  // reused. A larger request replaces it; the old one lives as long as the plane, since queued
  // copies may still use it.
  virtual StatusOr<void*> host_buffer(std::int64_t bytes) = 0;
  // Queued copies between device memory and host memory from host_buffer().
  virtual Status copy_to_host(const void* device_src, void* host_dst, std::int64_t bytes) = 0;
  virtual Status copy_to_device(const void* host_src, void* device_dst, std::int64_t bytes) = 0;
  // A poll for the finalizer: true once everything queued so far has run; an error when the
  // device or a peer failed (the runtime then ends the job).
  virtual CompletionFinalizer::Poll completion() = 0;
};

// An internal error unless a tensor of `what` ("allgather 'x'") that is `on_device` of
// `device` lives in `plane`'s memory: the runtime routed it to the wrong plane.
Status check_on_plane(const DevicePlane& plane, bool on_device, int device,
                      const std::string& what);

// Makes this rank's plane on `device` (kCpuDevice: the plane picks one, for a rank whose first
// on-device response only needs its zeros). Collective: every rank calls it in the same response
// (the first that runs on the GPU data plane), each with its own device.
using DevicePlaneFactory =
    std::function<StatusOr<std::unique_ptr<DevicePlane>>(int device, const MpiContext& mpi)>;

// For runtimes started after the call (a test's simulated device). Thread-safe.
void set_device_plane_factory(DevicePlaneFactory factory);
// The factory set, or an empty function: then on-device tensors are an error at enqueue.
DevicePlaneFactory device_plane_factory();

}  // namespace hvd
