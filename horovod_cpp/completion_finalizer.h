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
// Milestones: a piece may also have a point before its end that the thread watches for (for
// the timeline's WAIT_FOR_DATA: the op's inputs are ready). Unlike the end, it is polled on
// every pending piece, not only the oldest, so it is seen when it happens, not when the work
// queued before it has finished.
//
// Thread: its own. add()/stop()/pending() from any thread; callbacks run on the finalizer thread
// and must not call add() or stop().
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "horovod_cpp/mutex.h"
#include "horovod_cpp/status.h"

namespace hvd {

class CompletionFinalizer {
 public:
  // true once the piece has finished; an error if it failed (the piece is then done).
  using Poll = std::function<StatusOr<bool>()>;
  using Callback = std::function<void(const Status&)>;
  // `reached` is polled until it says true (an error counts as true: the piece's own poll
  // reports the failure); then `on_reached` runs, once, and always before the piece's `done`
  // (just before it, if the piece ended first or failed).
  struct Milestone {
    Poll reached;
    std::function<void()> on_reached;
  };

  // `poll_period`: how long the thread sleeps between polls of an unfinished piece.
  CompletionFinalizer(std::chrono::milliseconds limit, std::chrono::microseconds poll_period);
  ~CompletionFinalizer();  // stop("the runtime shut down")
  CompletionFinalizer(const CompletionFinalizer&) = delete;
  CompletionFinalizer& operator=(const CompletionFinalizer&) = delete;

  // After stop(), `done` runs at once, on the caller's thread, with stop's reason.
  void add(Poll poll, Callback done, Milestone milestone = {}) HVD_EXCLUDES(mu_);
  // Idempotent; the first reason wins.
  void stop(const Status& reason) HVD_EXCLUDES(mu_);
  std::size_t pending() const HVD_EXCLUDES(mu_);

 private:
  struct Piece {
    Poll poll;
    Callback done;
    std::chrono::steady_clock::time_point added;
    Milestone milestone;  // finalizer thread only after add(); emptied once reached
  };
  void run();
  // Polls the milestones of the pieces pending now (finalizer thread).
  void watch_milestones() HVD_EXCLUDES(mu_);
  static void reach_milestone(Piece* piece);
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
  std::vector<Piece*> watched_;  // finalizer thread only: watch_milestones()'s scratch
  std::thread thread_;           // started in the constructor, joined by stop()
  Mutex join_mu_;                // serializes the join in stop()
};

}  // namespace hvd
