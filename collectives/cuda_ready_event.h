// The ready event of an on-device op (device_plane.h), recorded on a CUDA stream: the one
// call the framework adapter makes into the CUDA data plane, kept apart from
// cuda_device_plane.h so the adapter needs CUDA's runtime headers only, not NCCL's.
// Only compiled with HOROVOD_CPP_WITH_NCCL.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>

#include "horovod_cpp/status.h"

namespace hvd {

class DeviceEvent;

// An event recorded on `stream` of `device`: the plane's stream waits for it, so the op reads
// its input only after the work queued on `stream` before it.
StatusOr<std::shared_ptr<const DeviceEvent>> record_cuda_ready_event(int device,
                                                                     cudaStream_t stream);

// Records `ready` (from record_cuda_ready_event) again, on `stream` of `device`: the op's ready
// point moves to the work queued there by now. For an output allocated on that stream after
// the op was queued, before the plane waits for the event.
Status rerecord_cuda_ready_event(const DeviceEvent& ready, int device, cudaStream_t stream);

}  // namespace hvd
