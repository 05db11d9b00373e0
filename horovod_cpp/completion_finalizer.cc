#include "horovod_cpp/completion_finalizer.h"

#include <string>
#include <utility>

namespace hvd {

namespace {
// An idle finalizer re-checks for stop this often (stop() also signals).
constexpr std::chrono::seconds kIdleWait{1};
}  // namespace

CompletionFinalizer::CompletionFinalizer(std::chrono::milliseconds limit,
                                         std::chrono::microseconds poll_period)
    : limit_(limit), poll_period_(poll_period), thread_([this] { run(); }) {}

CompletionFinalizer::~CompletionFinalizer() {
  stop(Status::error("the runtime shut down"));
}

void CompletionFinalizer::add(Poll poll, Callback done, Milestone milestone) {
  Status refused;
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      pieces_.push_back(Piece{std::move(poll), std::move(done), std::chrono::steady_clock::now(),
                              std::move(milestone)});
      if (pieces_.size() == 1)
        work_cv_.signal();
      return;
    }
    refused = stop_reason_;
  }
  if (milestone.on_reached)
    milestone.on_reached();
  done(refused);
}

void CompletionFinalizer::reach_milestone(Piece* piece) {
  if (!piece->milestone.on_reached)
    return;
  std::function<void()> on_reached = std::move(piece->milestone.on_reached);
  piece->milestone = Milestone{};
  on_reached();
}

void CompletionFinalizer::watch_milestones() {
  watched_.clear();
  {
    MutexLock lock(&mu_);
    for (Piece& piece : pieces_) {
      if (piece.milestone.reached)
        watched_.push_back(&piece);
    }
  }
  // Only this thread removes pieces or touches their milestones, and push_back keeps
  // references to the others valid.
  for (Piece* piece : watched_) {
    const StatusOr<bool> reached = piece->milestone.reached();
    if (!reached.is_ok() || reached.value())
      reach_milestone(piece);
  }
}

void CompletionFinalizer::stop(const Status& reason) {
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_reason_ = reason.is_ok() ? Status::error("the finalizer was stopped") : reason;
      stop_deadline_ = std::chrono::steady_clock::now() + limit_;
    }
    work_cv_.signal_all();
  }
  MutexLock join(&join_mu_);
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
    thread_.join();
}

std::size_t CompletionFinalizer::pending() const {
  MutexLock lock(&mu_);
  return pieces_.size();
}

void CompletionFinalizer::fail_all(std::deque<Piece>* pieces, const Status& failure) {
  for (Piece& piece : *pieces) {
    reach_milestone(&piece);
    piece.done(failure);
  }
  pieces->clear();
}

void CompletionFinalizer::run() {
  while (true) {
    Piece* head = nullptr;
    {
      MutexLock lock(&mu_);
      while (pieces_.empty() && !stopping_)
        work_cv_.wait_for(kIdleWait);
      if (pieces_.empty())
        return;  // stopping, nothing left
      // Only this thread removes pieces, and push_back keeps references to the others valid.
      head = &pieces_.front();
    }
    watch_milestones();
    const StatusOr<bool> finished = head->poll();
    if (!finished.is_ok() || finished.value()) {
      Piece done;
      {
        MutexLock lock(&mu_);
        done = std::move(pieces_.front());
        pieces_.pop_front();
      }
      reach_milestone(&done);
      done.done(finished.is_ok() ? Status::ok() : finished.status());
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    Status failure;
    std::deque<Piece> failed;
    {
      MutexLock lock(&mu_);
      // While stopping, stop's deadline and reason govern: the reason says why work stalls.
      if (stopping_) {
        if (now > stop_deadline_)
          failure = stop_reason_;
      } else if (now - head->added > limit_) {
        failure = Status::error(
            "device work did not complete within " + std::to_string(limit_.count()) +
            " ms (a stuck kernel, or a peer that stopped taking part in a collective)");
      }
      if (!failure.is_ok())
        failed.swap(pieces_);
    }
    if (!failure.is_ok()) {
      fail_all(&failed, failure);
      continue;
    }
    std::this_thread::sleep_for(poll_period_);
  }
}

}  // namespace hvd
