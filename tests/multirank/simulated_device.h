// A simulated GPU for testing the runtime's device path on CPU: "device memory" is host
// memory, and each stream is a thread that runs queued work later, in order, optionally
// slowed down, so that a runtime which read an input before its ready event, or completed an
// op before the device ran it, reads or hands back stale data. The plane's collectives are
// MPI calls on its own communicator, made from its stream thread (MPI_THREAD_MULTIPLE).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "horovod_cpp/device_plane.h"

namespace hvd_test {

// Like a CUDA stream: enqueue() returns at once; one thread runs the work in order.
class SimulatedStream {
 public:
  SimulatedStream();
  ~SimulatedStream();  // runs what is queued, then stops
  SimulatedStream(const SimulatedStream&) = delete;
  SimulatedStream& operator=(const SimulatedStream&) = delete;

  // Each piece of work first sleeps this long (a slow device).
  void set_delay(std::chrono::microseconds delay) { delay_us_ = delay.count(); }
  void enqueue(std::function<void()> work);
  void drain();  // the caller waits until everything queued so far has run

 private:
  void run();

  std::atomic<std::int64_t> delay_us_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> work_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

class SimulatedEvent : public hvd::DeviceEvent {
 public:
  hvd::StatusOr<bool> happened() const override { return happened_->load(); }
  bool reached() const { return happened_->load(); }

 private:
  friend std::shared_ptr<SimulatedEvent> record_event(SimulatedStream& stream);
  std::shared_ptr<std::atomic<bool>> happened_ = std::make_shared<std::atomic<bool>>(false);
};
// An event that happens once `stream` has run everything queued before it.
std::shared_ptr<SimulatedEvent> record_event(SimulatedStream& stream);

// What the tests steer and observe, for this process's plane.
struct SimulatedDeviceControl {
  std::atomic<std::int64_t> stream_delay_us{0};  // read when each piece of work is queued
  std::atomic<bool> fail_next_allreduce{false};  // the poll then fails; the job ends
  // While the plane is made, an allreduce on the next GPU is queued, as a user thread could:
  // the race the runtime must refuse (one GPU per rank).
  std::atomic<bool> queue_on_next_gpu_while_making_plane{false};
  std::atomic<int> planes_made{0};
  std::atomic<int> plane_device{-1};
  std::atomic<std::int64_t> allreduce_calls{0};
  std::atomic<std::int64_t> broadcast_calls{0};
  std::atomic<std::int64_t> allgather_calls{0};
  std::atomic<std::int64_t> reducescatter_calls{0};
  std::atomic<std::int64_t> alltoall_calls{0};
  std::atomic<std::int64_t> local_reducescatter_calls{0};  // hierarchical allreduces
  std::atomic<std::int64_t> scaled_copy_calls{0};
  std::atomic<std::int64_t> batched_copy_calls{0};  // scaled_copies(), one per batch
  std::atomic<std::int64_t> fusion_buffer_growths{0};
  std::atomic<std::int64_t> fusion_buffer_bytes{0};  // its size now
};
SimulatedDeviceControl& simulated_device();

// Registers the simulated plane with the runtime; call before hvd::init().
void use_simulated_device();

}  // namespace hvd_test
