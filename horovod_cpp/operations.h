// The core's interface for framework adapters (frameworks/torch): queue an entry, then poll
// or wait on its handle. Returns Status; the adapter turns errors into hvd::Error.
// Thread: user threads.
#pragma once

#include <string>
#include <vector>

#include "horovod_cpp/handle_table.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

// Fills in an empty name with "<op>.noname.<n>", queues the entry and returns at once.
StatusOr<Handle> enqueue_entry(TensorTableEntry entry, const char* caller);
// Queues `entries` as one grouped allreduce named `group` ("" = an automatic name): member i
// is named "<group>[i]" and the coordinator releases the members together. All are queued,
// or none.
StatusOr<std::vector<Handle>> enqueue_group(std::vector<TensorTableEntry> entries,
                                            std::string group, const char* caller);
StatusOr<bool> poll_handle(Handle handle);
// May block. `what` names the op in stall warnings.
Status wait_handle(Handle handle, const std::string& what);
// The rank count of the live runtime, for local argument checks.
StatusOr<int> runtime_size(const char* caller);
// Whether CUDA tensors go to the GPU data plane (a plane is built in and
// HOROVOD_GPU_OPERATIONS=NCCL), rather than being staged through host memory.
StatusOr<bool> device_plane_enabled(const char* caller);

}  // namespace hvd
