#include "horovod_cpp/device_execution.h"

#include <utility>

#include "horovod_cpp/device_allgather_op.h"
#include "horovod_cpp/device_alltoall_op.h"
#include "horovod_cpp/device_broadcast_op.h"
#include "horovod_cpp/device_reducescatter_op.h"
#include "horovod_cpp/logging.h"

namespace hvd {
namespace {

std::string described(OpType op, const std::string& name) {
  return std::string(op_type_name(op)) + " '" + name + "'";
}

const char* activity_suffix(ResponseType type) {
  switch (type) {
    case ResponseType::Broadcast:
      return "BCAST";
    case ResponseType::Allgather:
      return "ALLGATHER";
    case ResponseType::Alltoall:
      return "ALLTOALL";
    case ResponseType::Reducescatter:
      return "REDUCESCATTER";
    default:
      return "ALLREDUCE";
  }
}

}  // namespace

DeviceExecution::DeviceExecution(DevicePlaneFactory factory, const Settings& settings,
                                 const MpiContext* mpi, RuntimeCounters* counters,
                                 std::chrono::milliseconds work_limit)
    : factory_(std::move(factory)),
      gpu_operations_nccl_(settings.gpu_operations_nccl),
      mpi_(mpi),
      counters_(counters),
      work_limit_(work_limit),
      hierarchical_allreduce_(settings.hierarchical_allreduce) {}

bool DeviceExecution::runs(ResponseType type) {
  return type == ResponseType::Allreduce || type == ResponseType::Broadcast ||
         type == ResponseType::Allgather || type == ResponseType::Alltoall ||
         type == ResponseType::Reducescatter;
}

Status DeviceExecution::check(const TensorTableEntry& entry) const {
  const std::string what = described(entry.op, entry.name);
  if (!factory_) {
    return Status::error(what + " is in the memory of GPU " + std::to_string(entry.device) +
                         ", but this process has no GPU data plane");
  }
  if (!gpu_operations_nccl_) {
    return Status::error(what + " is in GPU memory, but HOROVOD_GPU_OPERATIONS=MPI stages GPU " +
                         "tensors through host memory");
  }
  if (entry.op == OpType::Barrier || entry.op == OpType::Join)
    return Status::error(what + " carries no tensor data, so it cannot be in GPU memory");
  if (entry.device < 0) {
    return Status::error(what + " is marked as in GPU memory but names device " +
                         std::to_string(entry.device));
  }
  return Status::ok();
}

Status DeviceExecution::claim(OpType op, const std::string& name, int device) {
  int claimed = kCpuDevice;
  if (device_claimed_.compare_exchange_strong(claimed, device) || claimed == device)
    return Status::ok();
  return Status::error(described(op, name) + " is on GPU " + std::to_string(device) +
                       ", but rank " + std::to_string(mpi_->topology().rank) +
                       " runs its GPU ops on GPU " + std::to_string(claimed) +
                       " (its first): one GPU per rank");
}

Status DeviceExecution::start() {
  if (plane_)
    return Status::ok();
  if (!factory_)
    return Status::error("an allreduce runs on the GPU data plane, which this process lacks");
  // A rank that joined before it queued anything for the GPU still takes part: the plane
  // picks its device (kCpuDevice: "yours to choose"), and later ops must use that one.
  HVD_ASSIGN_OR_RETURN(plane_, factory_(device_claimed_.load(), *mpi_));
  // A user thread may have claimed a device while the plane was made (collective, so slow).
  int claimed = kCpuDevice;
  if (!device_claimed_.compare_exchange_strong(claimed, plane_->device()) &&
      claimed != plane_->device()) {
    return Status::error("this rank's GPU data plane was made on GPU " +
                         std::to_string(plane_->device()) +
                         " (the rank had queued nothing for a GPU), but an op on GPU " +
                         std::to_string(claimed) + " was queued meanwhile: one GPU per rank");
  }
  const Topology& topology = mpi_->topology();
  if (hierarchical_allreduce_ && !topology.homogeneous && topology.rank == 0) {
    log_message(LogLevel::Warning,
                "HOROVOD_HIERARCHICAL_ALLREDUCE is set, but the hosts run different numbers of "
                "ranks; GPU allreduces stay flat");
  }
  allreduce_executor_ =
      std::make_unique<DeviceAllreduceExecutor>(plane_.get(), counters_, hierarchy(), work_limit_);
  finalizer_ = std::make_unique<CompletionFinalizer>(work_limit_, std::chrono::microseconds(20));
  return Status::ok();
}

Status DeviceExecution::enqueue(const Response& response, std::vector<TensorTableEntry>& entries) {
  const Topology& topology = mpi_->topology();
  switch (response.type) {
    case ResponseType::Allreduce:
      return allreduce_executor_->enqueue(response, entries);
    case ResponseType::Broadcast:
      return enqueue_device_broadcast(response, entries.front(), topology.rank, plane_.get());
    case ResponseType::Allgather:
      return enqueue_device_allgather(response, entries.front(), topology.size, plane_.get(),
                                      counters_);
    case ResponseType::Alltoall:
      return enqueue_device_alltoall(response, entries.front(), *mpi_, plane_.get());
    case ResponseType::Reducescatter:
      return enqueue_device_reducescatter(response, entries.front(), topology.rank, topology.size,
                                          plane_.get());
    default:
      return Status::error(std::string("internal: no GPU data plane path for ") +
                           op_type_name(entries.front().op));
  }
}

std::string DeviceExecution::activity(ResponseType type) const {
  return std::string(plane_->activity_prefix()) + "_" + activity_suffix(type);
}

const MpiContext* DeviceExecution::hierarchy() const {
  return hierarchical_allreduce_ && mpi_->topology().homogeneous ? mpi_ : nullptr;
}

void DeviceExecution::set_hierarchical_allreduce(bool on) {
  hierarchical_allreduce_ = on;
  if (allreduce_executor_)
    allreduce_executor_->set_hierarchy(hierarchy());
}

void DeviceExecution::stop(const Status& reason) {
  if (finalizer_)
    finalizer_->stop(reason);
}

void DeviceExecution::release() {
  finalizer_.reset();  // stopped by the loop: its polls no longer touch the plane
  allreduce_executor_.reset();
  plane_.reset();
}

}  // namespace hvd
