#include "collectives/nccl_communicator.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "collectives/bounded_call.h"
#include "collectives/cuda_check.h"
#include "collectives/cuda_device_scope.h"
#include "collectives/cuda_stream_capture.h"
#include "collectives/gpu_claims.h"
#include "collectives/half.h"
#include "collectives/mpi_check.h"

namespace hvd {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kDestroyLimit{10};

std::string nccl_error(ncclComm_t comm, ncclResult_t rc, const char* call) {
  std::string message = std::string(call) + " failed: " + ncclGetErrorString(rc);
  const char* detail = comm != nullptr ? ncclGetLastError(comm) : nullptr;
  if (detail != nullptr && *detail != '\0')
    message += std::string(": ") + detail;
  return message;
}

// How long an abort may take. Recent NCCL may wait inside ncclCommAbort for the other ranks on
// the host to abort too (NVIDIA/nccl#863); a rank whose peers carry on, or are gone, must not
// hang there, so it moves on, leaving the communicator to the aborting thread.
constexpr std::chrono::seconds kAbortLimit{30};

std::string abort_stuck_message() {
  return "ncclCommAbort had not returned after " + std::to_string(kAbortLimit.count()) +
         " s (NCCL may wait for the host's other ranks to abort too); the communicator is "
         "left to it";
}

// Aborts `comm` on a thread of its own, on `device`; false if that took longer than
// kAbortLimit, after saying so on stderr (the collectives have no logger of their own).
bool abort_within(ncclComm_t comm, int device) {
  const bool returned = call_within(
      [comm, device] {
        relax_capture_checks_on_runtime_thread();  // a thread of the runtime's own
        cudaSetDevice(device);
        ncclCommAbort(comm);
      },
      kAbortLimit);
  if (!returned)
    std::fprintf(stderr, "[hvd] WARNING: %s\n", abort_stuck_message().c_str());
  return returned;
}

// Polls a non-blocking communicator until `rc` (what the call returned) has settled.
Status settle_call(ncclComm_t comm, ncclResult_t rc, const char* call,
                   std::chrono::milliseconds limit) {
  const Clock::time_point deadline = Clock::now() + limit;
  ncclResult_t state = rc;
  while (state == ncclInProgress) {
    if (Clock::now() > deadline) {
      return Status::error(std::string(call) + " did not finish within " +
                           std::to_string(limit.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    const ncclResult_t polled = ncclCommGetAsyncError(comm, &state);
    if (polled != ncclSuccess)
      return Status::error(nccl_error(comm, polled, "ncclCommGetAsyncError"));
  }
  if (state != ncclSuccess)
    return Status::error(nccl_error(comm, state, call));
  return Status::ok();
}

StatusOr<ncclRedOp_t> nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
      return ncclSum;
    case ReduceOp::Average:
      return ncclAvg;
    case ReduceOp::Min:
      return ncclMin;
    case ReduceOp::Max:
      return ncclMax;
    case ReduceOp::Product:
      return ncclProd;
  }
  return Status::error("unknown reduce op");
}

bool is_floating(DataType dtype) {
  return dtype == DataType::Float16 || dtype == DataType::BFloat16 || dtype == DataType::Float32 ||
         dtype == DataType::Float64;
}

// What each rank tells the others before NCCL is touched.
struct DeviceClaim {
  int ok = 0;
  int device = -1;
  char host[MPI_MAX_PROCESSOR_NAME] = {};
  char boot_id[64] = {};
  char bus_id[64] = {};
  char error[256] = {};
};

}  // namespace

StatusOr<ncclDataType_t> NcclCommunicator::nccl_type(DataType dtype) {
  switch (dtype) {
    case DataType::UInt8:
    case DataType::Bool:
      return ncclUint8;
    case DataType::Int8:
      return ncclInt8;
    case DataType::Int32:
      return ncclInt32;
    case DataType::Int64:
      return ncclInt64;
    case DataType::Float16:
      return ncclFloat16;
    case DataType::BFloat16:
      return ncclBfloat16;
    case DataType::Float32:
      return ncclFloat32;
    case DataType::Float64:
      return ncclFloat64;
  }
  return Status::error("dtype has no NCCL type");
}

StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::create(
    MPI_Comm comm, int device, std::chrono::milliseconds limit) {
  int rank = 0, size = 1;
  HVD_RETURN_IF_MPI_ERROR(MPI_Comm_rank(comm, &rank));
  HVD_RETURN_IF_MPI_ERROR(MPI_Comm_size(comm, &size));

  DeviceClaim mine;
  mine.device = device;
  int host_length = 0;
  HVD_RETURN_IF_MPI_ERROR(MPI_Get_processor_name(mine.host, &host_length));
  std::strncpy(mine.boot_id, read_boot_id().c_str(), sizeof(mine.boot_id) - 1);
  Status selected = HVD_CUDA_STATUS(cudaSetDevice(device));
  if (selected.is_ok())
    selected = HVD_CUDA_STATUS(cudaDeviceGetPCIBusId(mine.bus_id, sizeof(mine.bus_id), device));
  mine.ok = selected.is_ok() ? 1 : 0;
  std::strncpy(mine.error, selected.message().c_str(), sizeof(mine.error) - 1);
  std::vector<DeviceClaim> claims(static_cast<std::size_t>(size));
  HVD_RETURN_IF_MPI_ERROR(MPI_Allgather(&mine, sizeof(DeviceClaim), MPI_BYTE, claims.data(),
                                        sizeof(DeviceClaim), MPI_BYTE, comm));
  for (int r = 0; r < size; ++r) {
    const DeviceClaim& claim = claims[static_cast<std::size_t>(r)];
    if (!claim.ok) {
      return Status::error("rank " + std::to_string(r) + " cannot use CUDA device " +
                           std::to_string(claim.device) + ": " + claim.error);
    }
  }
  std::vector<GpuClaim> gpus;
  for (const DeviceClaim& claim : claims)
    gpus.push_back(GpuClaim{claim.host, claim.boot_id, claim.bus_id, claim.device});
  HVD_RETURN_IF_ERROR(check_one_rank_per_gpu(gpus));

  struct {
    int ok = 0;
    ncclUniqueId id;
    char error[256] = {};
  } unique;
  if (rank == 0) {
    const ncclResult_t rc = ncclGetUniqueId(&unique.id);
    unique.ok = rc == ncclSuccess ? 1 : 0;
    if (!unique.ok)
      std::strncpy(unique.error, ncclGetErrorString(rc), sizeof(unique.error) - 1);
  }
  HVD_RETURN_IF_MPI_ERROR(MPI_Bcast(&unique, sizeof(unique), MPI_BYTE, 0, comm));
  if (!unique.ok)
    return Status::error(std::string("ncclGetUniqueId failed on rank 0: ") + unique.error);

  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t nccl = nullptr;
  const ncclResult_t rc = ncclCommInitRankConfig(&nccl, size, unique.id, rank, &config);
  Status joined = nccl == nullptr && rc != ncclSuccess
                      ? Status::error(nccl_error(nullptr, rc, "ncclCommInitRankConfig"))
                      : settle_call(nccl, rc, "ncclCommInitRankConfig", limit);
  if (!joined.is_ok()) {
    if (nccl != nullptr && !abort_within(nccl, device))
      return Status::error(joined.message() + "; " + abort_stuck_message());
    return joined;
  }
  return std::unique_ptr<NcclCommunicator>(new NcclCommunicator(nccl, device, size));
}

NcclCommunicator::NcclCommunicator(ncclComm_t comm, int device, int size)
    : comm_(comm), device_(device), size_(size) {}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ == nullptr)
    return;
  // On whichever thread shuts the runtime down (often the user's): leave its device as found.
  CudaDeviceScope scope(device_);
  // Finalize flushes what was issued; a peer that is gone could keep it in progress for ever.
  if (settle_call(comm_, ncclCommFinalize(comm_), "ncclCommFinalize", kDestroyLimit).is_ok())
    ncclCommDestroy(comm_);
  else
    (void)abort_within(comm_, device_);  // reported there; nobody is left to tell
}

Status NcclCommunicator::fail(Status failure) {
  if (failed_.is_ok()) {
    if (comm_ != nullptr && !abort_within(comm_, device_))
      failure = Status::error(failure.message() + "; " + abort_stuck_message());
    failed_ = failure;
    comm_ = nullptr;
  }
  return failure;
}

Status NcclCommunicator::settle(ncclResult_t rc, const char* call,
                                std::chrono::milliseconds limit) {
  Status settled = settle_call(comm_, rc, call, limit);
  return settled.is_ok() ? settled : fail(settled);
}

namespace {
// Enqueueing returns quickly; this only bounds a pathological non-blocking enqueue.
constexpr std::chrono::milliseconds kEnqueueLimit{60'000};
}  // namespace

Status NcclCommunicator::issued(ncclResult_t rc, const char* call) const {
  if (rc == ncclSuccess || rc == ncclInProgress)
    return Status::ok();
  return Status::error(nccl_error(comm_, rc, call));
}

Status NcclCommunicator::grouped(const std::function<Status()>& issue) {
  const ncclResult_t started = ncclGroupStart();
  if (started != ncclSuccess)
    return fail(Status::error(nccl_error(comm_, started, "ncclGroupStart")));
  const Status queued = issue();
  // Closed whatever happened inside, on the live communicator; only then may an error abort it.
  const Status ended = settle_call(comm_, ncclGroupEnd(), "ncclGroupEnd", kEnqueueLimit);
  if (!queued.is_ok())
    return fail(queued);
  return ended.is_ok() ? ended : fail(ended);
}

#define HVD_NCCL_USABLE()                                                                 \
  do {                                                                                    \
    if (!failed_.is_ok())                                                                 \
      return Status::error("the NCCL communicator failed earlier: " + failed_.message()); \
    HVD_RETURN_IF_CUDA_ERROR(cudaSetDevice(device_));                                     \
  } while (false)

Status NcclCommunicator::allreduce(const void* send, void* recv, std::size_t count, DataType dtype,
                                   ReduceOp op, double premultiply, cudaStream_t stream) {
  HVD_NCCL_USABLE();
  if (dtype == DataType::Bool)
    return Status::error("allreduce of bool tensors is not supported");
  HVD_ASSIGN_OR_RETURN(const ncclDataType_t type, nccl_type(dtype));
  HVD_ASSIGN_OR_RETURN(ncclRedOp_t reduction, nccl_op(op));
  if (premultiply == 1.0)
    return settle(ncclAllReduce(send, recv, count, type, reduction, comm_, stream), "ncclAllReduce",
                  kEnqueueLimit);
  if (!is_floating(dtype) || (op != ReduceOp::Sum && op != ReduceOp::Average))
    return Status::error("prescale on the NCCL path needs a floating dtype and Sum or Average");
  // PreMulSum's scalar has the tensor's own type.
  const double factor = op == ReduceOp::Average ? premultiply / size_ : premultiply;
  union {
    std::uint16_t half;
    float single;
    double full;
  } scalar{};
  if (dtype == DataType::Float16)
    scalar.half = float_to_float16(static_cast<float>(factor));
  else if (dtype == DataType::BFloat16)
    scalar.half = float_to_bfloat16(static_cast<float>(factor));
  else if (dtype == DataType::Float32)
    scalar.single = static_cast<float>(factor);
  else
    scalar.full = factor;
  HVD_RETURN_IF_ERROR(
      settle(ncclRedOpCreatePreMulSum(&reduction, &scalar, type, ncclScalarHostImmediate, comm_),
             "ncclRedOpCreatePreMulSum", kEnqueueLimit));
  Status enqueued = settle(ncclAllReduce(send, recv, count, type, reduction, comm_, stream),
                           "ncclAllReduce", kEnqueueLimit);
  if (failed_.is_ok())
    ncclRedOpDestroy(reduction, comm_);  // allowed once the call using it has returned
  return enqueued;
}

Status NcclCommunicator::broadcast(void* buffer, std::size_t count, DataType dtype, int root,
                                   cudaStream_t stream) {
  HVD_NCCL_USABLE();
  HVD_ASSIGN_OR_RETURN(const ncclDataType_t type, nccl_type(dtype));
  return settle(ncclBroadcast(buffer, buffer, count, type, root, comm_, stream), "ncclBroadcast",
                kEnqueueLimit);
}

Status NcclCommunicator::allgather(const void* send, void* recv, std::size_t count_per_rank,
                                   DataType dtype, cudaStream_t stream) {
  HVD_NCCL_USABLE();
  HVD_ASSIGN_OR_RETURN(const ncclDataType_t type, nccl_type(dtype));
  return settle(ncclAllGather(send, recv, count_per_rank, type, comm_, stream), "ncclAllGather",
                kEnqueueLimit);
}

Status NcclCommunicator::allgatherv(const void* send, void* recv,
                                    const std::vector<std::int64_t>& bytes_by_rank, int rank,
                                    cudaStream_t stream) {
  HVD_NCCL_USABLE();
  if (static_cast<int>(bytes_by_rank.size()) != size_)
    return Status::error("internal: allgatherv needs one byte count per rank");
  bool equal = true;
  std::int64_t total = 0;
  for (std::int64_t bytes : bytes_by_rank) {
    equal = equal && bytes == bytes_by_rank.front();
    total += bytes;
  }
  if (total == 0)
    return Status::ok();
  if (equal) {
    return settle(ncclAllGather(send, recv, static_cast<std::size_t>(bytes_by_rank.front()),
                                ncclUint8, comm_, stream),
                  "ncclAllGather", kEnqueueLimit);
  }
  return grouped([&]() -> Status {
    char* out = static_cast<char*>(recv);
    for (int r = 0; r < size_; ++r) {
      const auto bytes = static_cast<std::size_t>(bytes_by_rank[static_cast<std::size_t>(r)]);
      if (bytes > 0) {
        HVD_RETURN_IF_ERROR(
            issued(ncclBroadcast(r == rank ? send : out, out, bytes, ncclUint8, r, comm_, stream),
                   "ncclBroadcast"));
      }
      out += bytes;
    }
    return Status::ok();
  });
}

Status NcclCommunicator::reducescatter(const void* send, void* recv, std::size_t count_per_rank,
                                       DataType dtype, ReduceOp op, cudaStream_t stream) {
  HVD_NCCL_USABLE();
  if (dtype == DataType::Bool)
    return Status::error("reducescatter of bool tensors is not supported");
  HVD_ASSIGN_OR_RETURN(const ncclDataType_t type, nccl_type(dtype));
  HVD_ASSIGN_OR_RETURN(const ncclRedOp_t reduction, nccl_op(op));
  return settle(ncclReduceScatter(send, recv, count_per_rank, type, reduction, comm_, stream),
                "ncclReduceScatter", kEnqueueLimit);
}

Status NcclCommunicator::reducescatterv(const void* send, void* recv,
                                        const std::vector<std::int64_t>& counts_by_rank,
                                        DataType dtype, ReduceOp op, cudaStream_t stream) {
  if (static_cast<int>(counts_by_rank.size()) != size_)
    return Status::error("internal: reducescatterv needs one element count per rank");
  const bool equal = std::all_of(counts_by_rank.begin(), counts_by_rank.end(),
                                 [&](std::int64_t n) { return n == counts_by_rank.front(); });
  if (equal && counts_by_rank.front() == 0)
    return Status::ok();
  if (equal) {
    return reducescatter(send, recv, static_cast<std::size_t>(counts_by_rank.front()), dtype, op,
                         stream);
  }
  HVD_NCCL_USABLE();
  if (dtype == DataType::Bool)
    return Status::error("reducescatter of bool tensors is not supported");
  HVD_ASSIGN_OR_RETURN(const ncclDataType_t type, nccl_type(dtype));
  HVD_ASSIGN_OR_RETURN(const ncclRedOp_t reduction, nccl_op(op));
  const std::int64_t element_bytes = element_size_bytes(dtype);
  return grouped([&]() -> Status {
    const char* block = static_cast<const char*>(send);
    for (int r = 0; r < size_; ++r) {
      const std::int64_t count = counts_by_rank[static_cast<std::size_t>(r)];
      // recv is written on the root only.
      if (count > 0) {
        HVD_RETURN_IF_ERROR(issued(ncclReduce(block, recv, static_cast<std::size_t>(count), type,
                                              reduction, r, comm_, stream),
                                   "ncclReduce"));
      }
      block += count * element_bytes;
    }
    return Status::ok();
  });
}

Status NcclCommunicator::alltoallv(const void* send, const std::vector<std::int64_t>& send_bytes,
                                   void* recv, const std::vector<std::int64_t>& recv_bytes,
                                   cudaStream_t stream) {
  HVD_NCCL_USABLE();
  if (static_cast<int>(send_bytes.size()) != size_ || static_cast<int>(recv_bytes.size()) != size_)
    return Status::error("internal: alltoallv needs one byte count per rank each way");
  return grouped([&]() -> Status {
    const char* out = static_cast<const char*>(send);
    char* in = static_cast<char*>(recv);
    for (int r = 0; r < size_; ++r) {
      const auto to_send = static_cast<std::size_t>(send_bytes[static_cast<std::size_t>(r)]);
      const auto to_receive = static_cast<std::size_t>(recv_bytes[static_cast<std::size_t>(r)]);
      if (to_send > 0)
        HVD_RETURN_IF_ERROR(
            issued(ncclSend(out, to_send, ncclUint8, r, comm_, stream), "ncclSend"));
      if (to_receive > 0)
        HVD_RETURN_IF_ERROR(
            issued(ncclRecv(in, to_receive, ncclUint8, r, comm_, stream), "ncclRecv"));
      out += to_send;
      in += to_receive;
    }
    return Status::ok();
  });
}

Status NcclCommunicator::wait(cudaStream_t stream, std::chrono::milliseconds limit) {
  HVD_NCCL_USABLE();
  const Clock::time_point deadline = Clock::now() + limit;
  while (true) {
    const cudaError_t done = cudaStreamQuery(stream);
    if (done == cudaSuccess)
      return Status::ok();
    if (done != cudaErrorNotReady)
      return fail(HVD_CUDA_STATUS(done));
    ncclResult_t state = ncclSuccess;
    const ncclResult_t polled = ncclCommGetAsyncError(comm_, &state);
    if (polled != ncclSuccess)
      return fail(Status::error(nccl_error(comm_, polled, "ncclCommGetAsyncError")));
    if (state != ncclSuccess && state != ncclInProgress)
      return fail(Status::error(nccl_error(comm_, state, "a NCCL collective")));
    if (Clock::now() > deadline) {
      return fail(Status::error("the NCCL stream did not finish within " +
                                std::to_string(limit.count()) +
                                " ms (a peer stopped taking part?)"));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

Status NcclCommunicator::async_error() const {
  if (!failed_.is_ok())
    return Status::error("the NCCL communicator failed earlier: " + failed_.message());
  ncclResult_t state = ncclSuccess;
  const ncclResult_t polled = ncclCommGetAsyncError(comm_, &state);
  if (polled != ncclSuccess)
    return Status::error(nccl_error(comm_, polled, "ncclCommGetAsyncError"));
  if (state != ncclSuccess && state != ncclInProgress)
    return Status::error(nccl_error(comm_, state, "a NCCL collective"));
  return Status::ok();
}

#undef HVD_NCCL_USABLE

}  // namespace hvd
