// Queues an Alltoall response's work for this rank's on-device entry on the GPU data plane.
// The row counts are host metadata: the ranks exchange them over MPI first, as on the host path
// (alltoall_op.h), which sizes the output; only the rows move on the device, after the stream
// has waited for the input's ready event. Never fused. Completion is the runtime's, as for
// allreduce. Thread: background only.
#pragma once

#include "collectives/mpi_context.h"
#include "horovod_cpp/device_plane.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

Status enqueue_device_alltoall(const Response& response, const TensorTableEntry& entry,
                               const MpiContext& mpi, DevicePlane* plane);

}  // namespace hvd
