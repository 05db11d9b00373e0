// Queues a Reducescatter response's work for this rank's on-device entry on the GPU data
// plane: the same row split as on the host (reducescatter_op.h), the output allocated on the
// device, the stream waiting for the input's ready event before the reduction. Never fused.
// Completion is the runtime's, as for allreduce. Thread: background only.
#pragma once

#include "horovod_cpp/device_plane.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

Status enqueue_device_reducescatter(const Response& response, const TensorTableEntry& entry,
                                    int rank, int size, DevicePlane* plane);

}  // namespace hvd
