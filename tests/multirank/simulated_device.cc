#include "simulated_device.h"

#include <cstring>
#include <string>
#include <vector>

#include <mpi.h>

#include "collectives/mpi_allgather.h"
#include "collectives/mpi_allreduce.h"
#include "collectives/mpi_alltoall.h"
#include "collectives/mpi_broadcast.h"
#include "collectives/mpi_reducescatter.h"
#include "collectives/scaled_copy.h"
#include "horovod_cpp/operations.h"

namespace hvd_test {

SimulatedStream::SimulatedStream() : thread_([this] { run(); }) {}

SimulatedStream::~SimulatedStream() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SimulatedStream::enqueue(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    work_.push_back(std::move(work));
  }
  cv_.notify_all();
}

void SimulatedStream::drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return work_.empty() && !busy_; });
}

void SimulatedStream::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !work_.empty(); });
    if (work_.empty())
      return;  // stopping, and everything ran
    std::function<void()> work = std::move(work_.front());
    work_.pop_front();
    busy_ = true;
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us_.load()));
    work();
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

std::shared_ptr<SimulatedEvent> record_event(SimulatedStream& stream) {
  auto event = std::make_shared<SimulatedEvent>();
  stream.enqueue([happened = event->happened_] { *happened = true; });
  return event;
}

SimulatedDeviceControl& simulated_device() {
  static SimulatedDeviceControl control;
  return control;
}

namespace {

// The first failure on the stream; read by the finalizer thread.
class FailureState {
 public:
  void set(const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (message_.empty())
      message_ = message;
  }
  std::string get() {
    std::lock_guard<std::mutex> lock(mu_);
    return message_;
  }

 private:
  std::mutex mu_;
  std::string message_;
};

class SimulatedPlane : public hvd::DevicePlane {
 public:
  SimulatedPlane(int device, MPI_Comm comm, MPI_Comm local_comm, const hvd::MpiReductionOps* ops,
                 int rank, int size, int local_rank)
      : device_(device),
        comm_(comm),
        local_comm_(local_comm),
        ops_(ops),
        rank_(rank),
        size_(size),
        local_rank_(local_rank) {}
  ~SimulatedPlane() override {
    stream_.drain();
    MPI_Comm_free(&comm_);
    MPI_Comm_free(&local_comm_);
  }

  int device() const override { return device_; }
  const char* activity_prefix() const override { return "SIMULATED"; }

  hvd::Status wait_for(const hvd::DeviceEvent& ready) override {
    const auto* event = dynamic_cast<const SimulatedEvent*>(&ready);
    if (event == nullptr)
      return hvd::Status::error("simulated device: a ready event of another kind");
    // The event's owner keeps it alive until the op completes, after this work has run.
    enqueue([this, event] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (!event->reached()) {
        if (std::chrono::steady_clock::now() > deadline) {
          failure_->set("simulated device: a ready event never happened");
          return;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    });
    return hvd::Status::ok();
  }

  hvd::StatusOr<void*> fusion_buffer(std::int64_t bytes) override {
    if (static_cast<std::int64_t>(fusion_buffer_.size()) < bytes) {
      ++simulated_device().fusion_buffer_growths;
      simulated_device().fusion_buffer_bytes = bytes;
      stream_.drain();  // as cudaFree waits for the device
      fusion_buffer_.assign(static_cast<size_t>(bytes), '\xff');
    }
    return static_cast<void*>(fusion_buffer_.data());
  }

  hvd::StatusOr<std::shared_ptr<void>> zeroed(std::int64_t bytes) override {
    const auto size = static_cast<size_t>(std::max<std::int64_t>(bytes, 1));
    std::shared_ptr<void> memory(new char[size], [](void* p) { delete[] static_cast<char*>(p); });
    std::memset(memory.get(), 0xff, size);  // garbage until the stream zeroes it
    enqueue([memory, size] { std::memset(memory.get(), 0, size); });
    return memory;
  }

  hvd::Status scaled_copy(const void* src, void* dst, std::int64_t count, hvd::DataType dtype,
                          double factor) override {
    ++simulated_device().scaled_copy_calls;
    enqueue([=] { hvd::scaled_copy(src, dst, count, dtype, factor); });
    return hvd::Status::ok();
  }

  hvd::Status scaled_copies(const std::vector<hvd::DeviceCopy>& copies, hvd::DataType dtype,
                            double factor) override {
    ++simulated_device().batched_copy_calls;
    // The contract a GPU's batch needs (it runs the copies in any order, at once), checked
    // here pair by pair, since this device runs them in order and would hide a breach.
    const std::int64_t bytes = hvd::element_size_bytes(dtype);
    const auto overlaps = [bytes](const void* a, std::int64_t a_count, const void* b,
                                  std::int64_t b_count) {
      const auto* a_begin = static_cast<const char*>(a);
      const auto* b_begin = static_cast<const char*>(b);
      return a_count > 0 && b_count > 0 && a_begin < b_begin + b_count * bytes &&
             b_begin < a_begin + a_count * bytes;
    };
    for (size_t i = 0; i < copies.size(); ++i) {
      for (size_t j = 0; j < copies.size(); ++j) {
        if (i != j && (overlaps(copies[i].dst, copies[i].count, copies[j].dst, copies[j].count) ||
                       overlaps(copies[i].dst, copies[i].count, copies[j].src, copies[j].count))) {
          return hvd::Status::error("simulated device: copy " + std::to_string(i) +
                                    " of a batch writes memory that copy " + std::to_string(j) +
                                    " also reads or writes");
        }
      }
    }
    enqueue([=] {
      for (const hvd::DeviceCopy& copy : copies)
        hvd::scaled_copy(copy.src, copy.dst, copy.count, dtype, factor);
    });
    return hvd::Status::ok();
  }

  hvd::Status allreduce(const void* send, void* recv, std::int64_t count, hvd::DataType dtype,
                        hvd::ReduceOp op) override {
    ++simulated_device().allreduce_calls;
    // Decided when queued, so every rank of a test fails the same collective.
    const bool fail = simulated_device().fail_next_allreduce.exchange(false);
    enqueue([this, fail, send, recv, count, dtype, op] {
      if (fail) {
        failure_->set("simulated device failure (an asynchronous error, as NCCL reports one)");
        return;
      }
      const hvd::ReduceOp mpi_op = op == hvd::ReduceOp::Average ? hvd::ReduceOp::Sum : op;
      const hvd::Status status = hvd::mpi_allreduce(send, recv, count, dtype, mpi_op, comm_, *ops_);
      if (!status.is_ok()) {
        failure_->set(status.message());
        return;
      }
      if (op == hvd::ReduceOp::Average)
        average(recv, count, dtype, size_);
    });
    return hvd::Status::ok();
  }

  hvd::Status broadcast(void* buffer, std::int64_t count, hvd::DataType dtype, int root) override {
    ++simulated_device().broadcast_calls;
    enqueue([this, buffer, count, dtype, root] {
      const hvd::Status status =
          hvd::mpi_broadcast(buffer, count * hvd::element_size_bytes(dtype), root, comm_);
      if (!status.is_ok())
        failure_->set(status.message());
    });
    return hvd::Status::ok();
  }

  hvd::Status allgather(const void* send, void* recv,
                        const std::vector<std::int64_t>& bytes_by_rank) override {
    ++simulated_device().allgather_calls;
    enqueue([this, send, recv, bytes_by_rank] {
      const hvd::Status status = hvd::mpi_allgatherv(send, recv, 1, bytes_by_rank, rank_, comm_);
      if (!status.is_ok())
        failure_->set(status.message());
    });
    return hvd::Status::ok();
  }

  hvd::Status reducescatter(const void* send, void* recv,
                            const std::vector<std::int64_t>& counts_by_rank, hvd::DataType dtype,
                            hvd::ReduceOp op) override {
    ++simulated_device().reducescatter_calls;
    enqueue([this, send, recv, counts_by_rank, dtype, op] {
      const hvd::ReduceOp mpi_op = op == hvd::ReduceOp::Average ? hvd::ReduceOp::Sum : op;
      const hvd::Status status =
          hvd::mpi_reducescatter(send, recv, counts_by_rank, dtype, mpi_op, comm_, *ops_);
      if (!status.is_ok()) {
        failure_->set(status.message());
        return;
      }
      if (op == hvd::ReduceOp::Average)
        average(recv, counts_by_rank[static_cast<size_t>(rank_)], dtype, size_);
    });
    return hvd::Status::ok();
  }

  hvd::Status alltoall(const void* send, const std::vector<std::int64_t>& send_bytes, void* recv,
                       const std::vector<std::int64_t>& recv_bytes) override {
    ++simulated_device().alltoall_calls;
    enqueue([this, send, send_bytes, recv, recv_bytes] {
      const hvd::Status status =
          hvd::mpi_alltoallv(send, send_bytes, recv, recv_bytes, /*row_bytes=*/1, comm_);
      if (!status.is_ok())
        failure_->set(status.message());
    });
    return hvd::Status::ok();
  }

  hvd::Status local_reducescatter(const void* send, void* recv,
                                  const std::vector<std::int64_t>& counts_by_local_rank,
                                  hvd::DataType dtype, hvd::ReduceOp op) override {
    ++simulated_device().local_reducescatter_calls;
    enqueue([this, send, recv, counts_by_local_rank, dtype, op] {
      const hvd::ReduceOp mpi_op = op == hvd::ReduceOp::Average ? hvd::ReduceOp::Sum : op;
      const hvd::Status status = hvd::mpi_reducescatter(send, recv, counts_by_local_rank, dtype,
                                                        mpi_op, local_comm_, *ops_);
      if (!status.is_ok()) {
        failure_->set(status.message());
        return;
      }
      if (op == hvd::ReduceOp::Average) {
        average(recv, counts_by_local_rank[static_cast<size_t>(local_rank_)], dtype,
                static_cast<int>(counts_by_local_rank.size()));
      }
    });
    return hvd::Status::ok();
  }

  hvd::Status local_allgather(const void* send, void* recv,
                              const std::vector<std::int64_t>& bytes_by_local_rank) override {
    enqueue([this, send, recv, bytes_by_local_rank] {
      const hvd::Status status =
          hvd::mpi_allgatherv(send, recv, 1, bytes_by_local_rank, local_rank_, local_comm_);
      if (!status.is_ok())
        failure_->set(status.message());
    });
    return hvd::Status::ok();
  }

  hvd::StatusOr<void*> host_buffer(std::int64_t bytes) override {
    if (host_buffers_.empty() || static_cast<std::int64_t>(host_buffers_.back().size()) < bytes)
      host_buffers_.emplace_back(static_cast<size_t>(std::max<std::int64_t>(bytes, 1)), '\xee');
    return static_cast<void*>(host_buffers_.back().data());
  }

  hvd::Status copy_to_host(const void* device_src, void* host_dst, std::int64_t bytes) override {
    enqueue([=] { std::memcpy(host_dst, device_src, static_cast<size_t>(bytes)); });
    return hvd::Status::ok();
  }

  hvd::Status copy_to_device(const void* host_src, void* device_dst, std::int64_t bytes) override {
    enqueue([=] { std::memcpy(device_dst, host_src, static_cast<size_t>(bytes)); });
    return hvd::Status::ok();
  }

  hvd::CompletionFinalizer::Poll completion() override {
    auto done = std::make_shared<std::atomic<bool>>(false);
    enqueue([done] { *done = true; });
    return [done, failure = failure_]() -> hvd::StatusOr<bool> {
      if (done->load())
        return true;  // even if later work failed since
      const std::string failed = failure->get();
      if (!failed.empty())
        return hvd::Status::error(failed);
      return false;
    };
  }

 private:
  // The sum of `ranks` contributions becomes their average, as the host path computes it.
  static void average(void* sum, std::int64_t count, hvd::DataType dtype, int ranks) {
    if (hvd::is_floating_point(dtype))
      hvd::scaled_copy(sum, sum, count, dtype, 1.0 / ranks);
    else
      hvd::divide_integers(sum, count, dtype, ranks);
  }

  // Once the device failed, nothing more runs on it (a failed NCCL communicator is aborted).
  void enqueue(std::function<void()> work) {
    stream_.set_delay(std::chrono::microseconds(simulated_device().stream_delay_us.load()));
    stream_.enqueue([failure = failure_, work = std::move(work)] {
      if (failure->get().empty())
        work();
    });
  }

  const int device_;
  MPI_Comm comm_;
  MPI_Comm local_comm_;
  const hvd::MpiReductionOps* const ops_;
  const int rank_;
  const int size_;
  const int local_rank_;
  std::deque<std::vector<char>> host_buffers_;  // the last is current; queued copies use older
  std::shared_ptr<FailureState> failure_ = std::make_shared<FailureState>();
  std::vector<char> fusion_buffer_;
  SimulatedStream stream_;  // last: its thread stops before the rest goes
};

// A one-float allreduce on `device`, queued and never waited for (the job ends first).
hvd::Status queue_on_gpu(int device) {
  static float data[2] = {1.0f, 0.0f};
  hvd::TensorTableEntry entry;
  entry.name = "dev.queued_meanwhile";
  entry.op = hvd::OpType::Allreduce;
  entry.dtype = hvd::DataType::Float32;
  entry.shape = {1};
  entry.device = device;
  entry.on_device = true;
  entry.input = &data[0];
  entry.output = &data[1];
  return hvd::enqueue_entry(std::move(entry), "simulated device").status();
}

}  // namespace

void use_simulated_device() {
  hvd::set_device_plane_factory(
      [](int device,
         const hvd::MpiContext& mpi) -> hvd::StatusOr<std::unique_ptr<hvd::DevicePlane>> {
        int provided = MPI_THREAD_SINGLE;
        MPI_Query_thread(&provided);
        if (provided < MPI_THREAD_MULTIPLE)
          return hvd::Status::error(
              "simulated device: its streams call MPI, which needs "
              "MPI_THREAD_MULTIPLE");
        if (device == hvd::kCpuDevice)
          device = mpi.topology().local_rank;  // the runtime left the choice to the plane
        MPI_Comm comm = MPI_COMM_NULL, local_comm = MPI_COMM_NULL;
        if (MPI_Comm_dup(mpi.data_comm(), &comm) != MPI_SUCCESS ||
            MPI_Comm_dup(mpi.local_comm(), &local_comm) != MPI_SUCCESS)
          return hvd::Status::error("simulated device: MPI_Comm_dup failed");
        ++simulated_device().planes_made;
        simulated_device().plane_device = device;
        if (simulated_device().queue_on_next_gpu_while_making_plane)
          HVD_RETURN_IF_ERROR(queue_on_gpu(device + 1));
        const hvd::Topology& topology = mpi.topology();
        return std::unique_ptr<hvd::DevicePlane>(
            new SimulatedPlane(device, comm, local_comm, &mpi.reduction_ops(), topology.rank,
                               topology.size, topology.local_rank));
      });
}

}  // namespace hvd_test
