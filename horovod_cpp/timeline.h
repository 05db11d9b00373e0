// The timeline: a Chrome trace (Trace Event Format, JSON array; chrome://tracing and Perfetto
// read it) of what this rank does with each tensor. One row ("process") per tensor name; on
// it NEGOTIATE_<OP> from the round that sent the request to the round that answered it, then
// <OP> around the execution with its steps nested inside (MEMCPY_IN_FUSION_BUFFER,
// MPI_ALLREDUCE, MEMCPY_OUT_FUSION_BUFFER, MPI_ALLGATHER, ...), and, with mark_cycles, an
// instant CYCLE_START event per negotiation round.
//
// Threads: the background thread records; a writer thread of the timeline's own formats and
// writes. Between them is a bounded queue: recording never waits for the disk, and when the
// queue is full the record is dropped and counted; the count is logged at stop() and written
// into the file as a TIMELINE_DROPPED event. Spans stay balanced: the end of a dropped begin
// is dropped too, and the end of a kept begin is always kept (so the queue may pass its
// capacity by the number of open spans). The writer flushes after every batch, so a process
// that dies leaves a file that ends on a whole record. start()/stop() come from user threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <fstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "horovod_cpp/mutex.h"
#include "horovod_cpp/status.h"

namespace hvd {

class Timeline {
 public:
  explicit Timeline(std::size_t queue_capacity = kDefaultQueueCapacity);
  ~Timeline();  // stops
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  // Thread: user threads. Replaces the file at `path`; an error if it cannot be written. While
  // recording, as in Horovod, the same path goes on recording (mark_cycles as given now) and
  // another path takes over: the current file is finished as by stop(), and a path that cannot
  // be written leaves the current recording going on.
  Status start(const std::string& path, bool mark_cycles) HVD_EXCLUDES(control_mu_);
  // Thread: user threads. Writes what is queued, closes the JSON array, returns the number
  // of records dropped. Idempotent.
  std::int64_t stop() HVD_EXCLUDES(control_mu_);

  bool active() const { return active_.load(std::memory_order_acquire); }
  bool marking_cycles() const { return mark_cycles_.load(std::memory_order_relaxed); }

  // Thread: background, and the finalizer for on-device ops (records are queued under a
  // lock). No-ops unless active().
  void begin(const std::string& tensor, const std::string& activity);
  void end(const std::string& tensor, const std::string& activity);
  void mark_cycle();

  static constexpr std::size_t kDefaultQueueCapacity = 1 << 16;

 private:
  enum class Phase : char { Begin = 'B', End = 'E', Instant = 'i' };
  struct Record {
    Phase phase;
    std::string tensor;
    std::string activity;
    std::int64_t micros;
  };
  std::int64_t stop_locked() HVD_REQUIRES(control_mu_);
  void record(Phase phase, const std::string& tensor, const std::string& activity);
  void writer_loop();
  void write(const Record& record);  // writer thread only

  const std::size_t queue_capacity_;
  std::atomic<bool> active_{false};
  std::atomic<bool> mark_cycles_{false};
  Mutex control_mu_;                              // serializes start() and stop()
  std::string path_ HVD_GUARDED_BY(control_mu_);  // while recording

  Mutex queue_mu_;
  CondVar queue_cv_{&queue_mu_};
  std::deque<Record> queue_ HVD_GUARDED_BY(queue_mu_);
  std::int64_t dropped_ HVD_GUARDED_BY(queue_mu_) = 0;
  // Begins dropped whose ends are still to come, as tensor + '\0' + activity.
  std::unordered_multiset<std::string> dropped_begins_ HVD_GUARDED_BY(queue_mu_);
  bool stopping_ HVD_GUARDED_BY(queue_mu_) = false;  // from stop() until the next start()
  std::chrono::steady_clock::time_point origin_ HVD_GUARDED_BY(queue_mu_);

  // Writer thread only (and start()/stop() while it is not running).
  std::thread writer_;
  std::ofstream out_;
  std::unordered_map<std::string, int> rows_;
};

}  // namespace hvd
