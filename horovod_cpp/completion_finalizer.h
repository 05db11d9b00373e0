// The finalizer: device work (NCCL collectives, fusion-buffer copies) is enqueued by the
// background thread and finishes later on the GPU. This thread waits for each piece and then
// runs its callbacks, so neither the background thread (which goes back to negotiating) nor a
// user thread ever blocks on the device. Framework- and CUDA-free: a piece is a poll function
// (for the GPU: query a CUDA event, check NCCL's async error), so the logic is tested on CPU.
//
// Order: pieces complete in the order they were added. They come from one background thread
// onto the streams it owns in that order, so a later piece cannot be done before an earlier one
// on the same stream, and callbacks keep the response list's order on every rank.
//
// Bounds: a piece still pending `limit` after it was added fails with an error naming that
// limit, and so does every piece behind it (the device is stuck). stop() waits at most `limit`
// for what is pending, then fails the rest with its reason (from stop() on, only that deadline
// applies).
//
// Thread: its own. add()/stop()/pending() from any thread; callbacks run on the finalizer thread
// and must not call add() or stop().
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>

#include "horovod_cpp/mutex.h"
#include "horovod_cpp/status.h"

namespace hvd {

class CompletionFinalizer {
 public:
  // true once the piece has finished; an error if it failed (the piece is then done).
  using Poll = std::function<StatusOr<bool>()>;
  using Callback = std::function<void(const Status&)>;

  // `poll_period`: how long the thread sleeps between polls of an unfinished piece.
  CompletionFinalizer(std::chrono::milliseconds limit, std::chrono::microseconds poll_period);
  ~CompletionFinalizer();  // stop("the runtime shut down")
  CompletionFinalizer(const CompletionFinalizer&) = delete;
  CompletionFinalizer& operator=(const CompletionFinalizer&) = delete;

  // After stop(), `done` runs at once, on the caller's thread, with stop's reason.
  void add(Poll poll, Callback done) HVD_EXCLUDES(mu_);
  // Idempotent; the first reason wins.
  void stop(const Status& reason) HVD_EXCLUDES(mu_);
  std::size_t pending() const HVD_EXCLUDES(mu_);

 private:
  struct Piece {
    Poll poll;
    Callback done;
    std::chrono::steady_clock::time_point added;
  };
  void run();
  // Fails the pieces in `pieces` with `failure`, outside the lock.
  static void fail_all(std::deque<Piece>* pieces, const Status& failure);

  const std::chrono::milliseconds limit_;
  const std::chrono::microseconds poll_period_;
  mutable Mutex mu_;
  CondVar work_cv_{&mu_};
  std::deque<Piece> pieces_ HVD_GUARDED_BY(mu_);
  bool stopping_ HVD_GUARDED_BY(mu_) = false;
  Status stop_reason_ HVD_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point stop_deadline_ HVD_GUARDED_BY(mu_);
  std::thread thread_;  // started in the constructor, joined by stop()
  Mutex join_mu_;       // serializes the join in stop()
};

}  // namespace hvd
