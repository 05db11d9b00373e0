// The table of in-flight entries (keyed by name) and the requests not yet negotiated.
// Thread-safe: user threads push; the background thread drains, waits and takes.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "horovod_cpp/message.h"
#include "horovod_cpp/mutex.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

class TensorQueue {
 public:
  TensorQueue() = default;
  TensorQueue(const TensorQueue&) = delete;
  TensorQueue& operator=(const TensorQueue&) = delete;

  // Thread: user threads; never waits on communication. Fails at once if the name is
  // already in flight on this rank or the queue is closed (the status says why).
  Status push(TensorTableEntry entry, Request request) HVD_EXCLUDES(mu_);
  // As push, for several entries at once: all are queued, or none (then the status names
  // the first that could not be). `admit`, if given, runs under the queue's lock once the
  // queue's own checks pass, so what it takes (the rank's GPU) is taken only by entries that
  // are queued; its error refuses them all. It must not call back into the queue.
  Status push_all(std::vector<TensorTableEntry> entries, std::vector<Request> requests,
                  const std::function<Status()>& admit = nullptr) HVD_EXCLUDES(mu_);

  // Thread: background only. Requests pushed since the last drain, in push order.
  std::vector<Request> drain_requests() HVD_EXCLUDES(mu_);
  // Thread: background only. Removes and returns the in-flight entry with this name.
  std::optional<TensorTableEntry> take(const std::string& name) HVD_EXCLUDES(mu_);

  // Thread: background only. Sleeps until a push, a wake(), or `timeout`; returns early
  // if undrained requests exist already. Polls (yielding the core) for the first `spin` of
  // it, so that work arriving at once does not pay a sleep and wake-up.
  void wait_for_work(std::chrono::microseconds timeout,
                     std::chrono::microseconds spin = std::chrono::microseconds(0))
      HVD_EXCLUDES(mu_);
  // Thread-safe. Ends the current or next wait_for_work().
  void wake() HVD_EXCLUDES(mu_);
  // For a dying thread that may hold the lock itself (an exception escaping push_all): wakes
  // only if the lock is free. Either way the waiter notices within its bounded wait.
  void try_wake();

  // Thread-safe. Rejects every later push with `reason` and returns the entries that were in
  // flight, for the caller to complete with that reason.
  std::vector<TensorTableEntry> close(const Status& reason) HVD_EXCLUDES(mu_);

  std::size_t in_flight() const HVD_EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  CondVar work_cv_{&mu_};
  std::unordered_map<std::string, TensorTableEntry> in_flight_ HVD_GUARDED_BY(mu_);
  std::vector<Request> new_requests_ HVD_GUARDED_BY(mu_);
  bool wake_requested_ HVD_GUARDED_BY(mu_) = false;
  std::optional<Status> closed_reason_ HVD_GUARDED_BY(mu_);
};

}  // namespace hvd
