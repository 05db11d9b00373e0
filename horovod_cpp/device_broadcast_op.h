// Queues a Broadcast response's work for this rank's on-device entry on the GPU data plane:
// wait for the input's ready event, then (the root, out of place) copy the input into the
// output, and broadcast the output in place. Completion is the runtime's, as for allreduce
// (device_allreduce_executor.h). Thread: background only.
#pragma once

#include "horovod_cpp/device_plane.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

Status enqueue_device_broadcast(const Response& response, const TensorTableEntry& entry, int rank,
                                DevicePlane* plane);

}  // namespace hvd
