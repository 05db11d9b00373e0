// A thin annotated mutex, lock guard and condition variable so clang can check HVD_GUARDED_BY.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "horovod_cpp/thread_annotations.h"

namespace hvd {

class HVD_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() HVD_ACQUIRE() { mu_.lock(); }
  void unlock() HVD_RELEASE() { mu_.unlock(); }
  bool try_lock() HVD_TRY_ACQUIRE(true) { return mu_.try_lock(); }

  // REQUIRES: held. Re-evaluates `ready` under the lock until it returns true or `until` has
  // passed, releasing the lock and yielding the core between tries; returns the last result.
  // For waits that usually end within microseconds, where sleeping on a condition variable
  // costs as much again in the futex sleep and wake-up. (Not analyzed: clang cannot see that
  // `ready`, annotated HVD_REQUIRES of this mutex, runs with it held.)
  template <class Predicate>
  bool poll_until(std::chrono::steady_clock::time_point until, Predicate ready)
      HVD_REQUIRES(this) HVD_NO_THREAD_SAFETY_ANALYSIS {
    while (!ready()) {
      if (std::chrono::steady_clock::now() >= until)
        return false;
      unlock();
      std::this_thread::yield();
      lock();
    }
    return true;
  }

 private:
  friend class CondVar;
  std::mutex mu_;
};

class HVD_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) HVD_ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() HVD_RELEASE() { mu_->unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// Condition variable bound to one Mutex for its whole life.
class CondVar {
 public:
  explicit CondVar(Mutex* mu) : mu_(mu) {}

  // REQUIRES: mu held. Returns false on timeout. Spurious wakeups return true; callers loop.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) HVD_REQUIRES(mu_) {
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    const bool woken = cv_.wait_for(lock, timeout) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  void signal() { cv_.notify_one(); }
  void signal_all() { cv_.notify_all(); }

 private:
  Mutex* const mu_;
  std::condition_variable cv_;
};

}  // namespace hvd
