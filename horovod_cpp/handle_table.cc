#include "horovod_cpp/handle_table.h"

#include "horovod_cpp/logging.h"

namespace hvd {

Handle HandleTable::allocate() {
  MutexLock lock(&mu_);
  const Handle handle = next_handle_++;
  states_.emplace(handle, State{});
  return handle;
}

void HandleTable::complete(Handle handle, const Status& status) {
  MutexLock lock(&mu_);
  auto it = states_.find(handle);
  if (it == states_.end())
    return;  // released by its owner; nobody waits
  it->second.done = true;
  it->second.status = status;
  // Waking only when someone waits on this handle keeps a burst of completions from costing
  // a context switch each while the user waits on the first of them.
  if (it->second.waiters > 0) {
    if (batch_depth_ > 0)
      wake_deferred_ = true;
    else
      done_cv_.signal_all();
  }
}

void HandleTable::begin_batch() {
  MutexLock lock(&mu_);
  ++batch_depth_;
}

void HandleTable::end_batch() {
  MutexLock lock(&mu_);
  if (--batch_depth_ == 0 && wake_deferred_) {
    wake_deferred_ = false;
    done_cv_.signal_all();
  }
}

Status HandleTable::unknown_handle(Handle handle) const {
  return Status::error("handle " + std::to_string(handle) +
                       " does not exist or was already synchronized");
}

StatusOr<bool> HandleTable::poll(Handle handle) const {
  MutexLock lock(&mu_);
  auto it = states_.find(handle);
  if (it == states_.end())
    return unknown_handle(handle);
  return it->second.done;
}

Status HandleTable::wait(Handle handle, const std::string& what) {
  MutexLock lock(&mu_);
  auto it = states_.find(handle);
  if (it == states_.end())
    return unknown_handle(handle);
  const auto start = std::chrono::steady_clock::now();
  // A small op completes within tens of microseconds; a futex sleep and wake-up on a VM costs
  // about as much again. Polling (and yielding the core) that long first took a 4-byte
  // allreduce from 25-26 to 17-18 us on 2 ranks of the 2-core VM (64 KiB: 50-53 to 41-42 us).
  // Re-find after every try: the map may have rehashed, or another thread that waited on the
  // same handle may have taken it.
  mu_.poll_until(start + kSpinBeforeSleep, [&]() HVD_REQUIRES(mu_) {
    it = states_.find(handle);
    return it == states_.end() || it->second.done;
  });
  if (it == states_.end())
    return unknown_handle(handle);
  while (!it->second.done) {
    ++it->second.waiters;
    const bool woken = done_cv_.wait_for(kStallWarningPeriod);
    // Re-find after every wake: the map may have rehashed, or another thread that waited on
    // the same handle may have taken it.
    it = states_.find(handle);
    if (it == states_.end())
      return unknown_handle(handle);
    --it->second.waiters;
    if (!woken) {
      const auto waited = std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::steady_clock::now() - start);
      log_message(LogLevel::Warning, "synchronize(" + what + ") has waited " +
                                         std::to_string(waited.count()) +
                                         " s; other ranks may not have submitted it yet");
    }
  }
  Status status = it->second.status;
  states_.erase(it);
  return status;
}

void HandleTable::release(Handle handle) {
  MutexLock lock(&mu_);
  states_.erase(handle);
}

std::size_t HandleTable::size() const {
  MutexLock lock(&mu_);
  return states_.size();
}

}  // namespace hvd
