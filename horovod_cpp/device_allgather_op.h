// Queues an Allgather response's work for this rank's on-device entry on the GPU data plane:
// allocate the output (its dim 0 is the sum of every rank's, known only now), wait for the
// input's ready event, gather every rank's rows. On-device allgathers are never fused
// (fusion_planner.cc). Completion is the runtime's, as for allreduce. Thread: background only.
#pragma once

#include "horovod_cpp/device_plane.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/runtime_counters.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

Status enqueue_device_allgather(const Response& response, const TensorTableEntry& entry, int size,
                                DevicePlane* plane, RuntimeCounters* counters);

}  // namespace hvd
