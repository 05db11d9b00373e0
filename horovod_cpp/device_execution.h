// The runtime's side of the GPU data plane: which GPU this rank's on-device ops use (claimed
// by the first one queued), and, from the first on-device response on, the plane made on that
// GPU, its allreduce executor and the finalizer that completes what the plane runs. The
// Runtime owns one for its whole life and decides what completing an op means (callbacks,
// timeline, ending the job on a device failure); this only makes and drives the plane.
//
// Thread: enabled(), check() and claim() are thread-safe (user threads, while the runtime may
// be shutting down: they read only what is fixed at construction and an atomic). Everything
// else is the background thread's, then the thread that shuts the runtime down once the
// background thread has ended (release()).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "collectives/mpi_context.h"
#include "horovod_cpp/completion_finalizer.h"
#include "horovod_cpp/device_allreduce_executor.h"
#include "horovod_cpp/device_plane.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/runtime_counters.h"
#include "horovod_cpp/settings.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

class DeviceExecution {
 public:
  // `mpi` and `counters` are the Runtime's and outlive this. `factory` empty: this process has
  // no GPU data plane. `work_limit` bounds how long queued device work may take.
  DeviceExecution(DevicePlaneFactory factory, const Settings& settings, const MpiContext* mpi,
                  RuntimeCounters* counters, std::chrono::milliseconds work_limit);

  // The responses the plane runs (when their tensors are on a GPU).
  static bool runs(ResponseType type);

  // On-device entries are accepted: a plane exists and GPU ops are not staged through MPI.
  bool enabled() const { return factory_ && gpu_operations_nccl_; }
  // Enqueue-time checks of an on-device entry: the plane is enabled, the op carries data, the
  // entry names a device.
  Status check(const TensorTableEntry& entry) const;
  // One device per rank: the first on-device entry queued claims its device for the process;
  // later ones must name the same. Runs under the tensor queue's lock (TensorQueue::push_all's
  // admit), so a refused op claims nothing.
  Status claim(OpType op, const std::string& name, int device);

  // Makes the plane, its executor and the finalizer at the first call; collective (every rank
  // calls it in the same response). A rank that has claimed no device lets the plane pick one.
  Status start();
  // Null until start() succeeded.
  DevicePlane* plane() const { return plane_.get(); }
  CompletionFinalizer* finalizer() const { return finalizer_.get(); }

  // Queues `response` (of a type runs() accepts) on the started plane; the caller hands
  // plane()->completion() to the finalizer.
  Status enqueue(const Response& response, std::vector<TensorTableEntry>& entries);
  // The timeline's name for `type` on the plane, e.g. "NCCL_ALLREDUCE".
  std::string activity(ResponseType type) const;

  // Autotuning's choice, made in the same round on every rank.
  void set_hierarchical_allreduce(bool on);

  // Stops the finalizer, if started: work already queued finishes within the limit, as usual;
  // callbacks added later fail with `reason`.
  void stop(const Status& reason);
  // Frees the finalizer, executor and plane, in that order. Once the background thread has
  // ended (Runtime::shutdown), before MPI goes.
  void release();

 private:
  // The MPI context the hierarchical allreduce runs over, or null while it is off or cannot
  // run (the hosts run different numbers of ranks).
  const MpiContext* hierarchy() const;

  // Constant after construction.
  const DevicePlaneFactory factory_;
  const bool gpu_operations_nccl_;
  const MpiContext* const mpi_;
  RuntimeCounters* const counters_;
  const std::chrono::milliseconds work_limit_;

  // Thread-safe: kCpuDevice until the first on-device entry is queued, or the plane starts.
  std::atomic<int> device_claimed_{kCpuDevice};

  // Background thread only. Declared so that the finalizer, whose polls use the plane, goes
  // first.
  bool hierarchical_allreduce_;
  std::unique_ptr<DevicePlane> plane_;
  std::unique_ptr<DeviceAllreduceExecutor> allreduce_executor_;
  std::unique_ptr<CompletionFinalizer> finalizer_;
};

}  // namespace hvd
