// The per-process runtime between init() and shutdown(): MPI, the tensor queue, and the one
// background thread that negotiates and executes every collective.
//
// Why one background thread: every rank must issue collective calls in the same order, and
// MPI calls then come from a single thread, so MPI_THREAD_SERIALIZED would suffice (we ask for
// MPI_THREAD_MULTIPLE so users may call MPI from their own threads meanwhile).
//
// Fields by owner:
//   constant after create(): settings_, mpi_ (pointer), topology numbers inside it
//   background thread only:  channel_, controller_, the executors, and every MPI call;
//                            device_'s plane and finalizer (device_execution.h)
//   finalizer thread:        the callbacks of on-device ops (device_plane.h)
//   thread-safe:             queue_, handles_ (not owned), counters_, shutdown_requested_,
//                            device_'s claim and checks
//   guarded by reason_mu_:   shutdown_reason_ (set before shutdown_requested_)
//   guarded by finish_mu_:   loop_finished_
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "collectives/mpi_context.h"
#include "horovod_cpp/allgather_executor.h"
#include "horovod_cpp/allreduce_executor.h"
#include "horovod_cpp/completion_finalizer.h"
#include "horovod_cpp/controller.h"
#include "horovod_cpp/device_execution.h"
#include "horovod_cpp/handle_table.h"
#include "horovod_cpp/runtime_counters.h"
#include "horovod_cpp/settings.h"
#include "horovod_cpp/tensor_queue.h"
#include "horovod_cpp/timeline.h"

namespace hvd {

class Runtime {
 public:
  // Thread: the user thread calling init(). Collective over all ranks: brings up MPI, checks
  // that every rank's settings are valid, starts the background thread. `handles` is owned by
  // the global state and outlives the runtime.
  static StatusOr<std::unique_ptr<Runtime>> create(HandleTable* handles);
  ~Runtime();  // stops the thread if shutdown() was not called
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Thread: user threads. Queues the entry and returns its handle at once.
  StatusOr<Handle> enqueue(TensorTableEntry entry);
  // As enqueue, for several entries that must reach the coordinator together (a group):
  // all are queued, or none.
  StatusOr<std::vector<Handle>> enqueue_all(std::vector<TensorTableEntry> entries);
  // Thread-safe. "<kind>.noname.<n>", counting each kind separately, so unnamed ops of
  // different kinds may interleave differently on different ranks.
  std::string auto_name(OpType op);
  std::string auto_group_name();

  const Topology& topology() const { return mpi_->topology(); }
  const Settings& settings() const { return settings_; }
  Stats stats() const {
    Stats s = counters_.snapshot();
    s.ops_in_flight = static_cast<std::int64_t>(queue_.in_flight());
    s.handles_outstanding = static_cast<std::int64_t>(handles_->size());
    return s;
  }
  bool owns_mpi() const { return owns_mpi_; }
  // Thread-safe. On-device entries are accepted (device_plane.h).
  bool device_plane_enabled() const { return device_.enabled(); }

  // Thread: user threads. Rank 0 records (one file for the job, as in Horovod); elsewhere
  // these do nothing.
  Status start_timeline(const std::string& path, bool mark_cycles);
  void stop_timeline();

  // Thread: user threads; may block until every rank joins the final negotiation round (logs
  // a warning every kShutdownWarningPeriod while it waits). Every rank's pending and later ops
  // fail with "rank R shut down: <reason>". Stops the thread, frees MPI resources and
  // finalizes MPI if init() started it. Idempotent; the first reason given wins.
  void shutdown(std::string reason);
  void shutdown() { shutdown("hvd::shutdown() was called"); }
  static constexpr std::chrono::seconds kShutdownWarningPeriod{10};
  // How long queued device work may take before the job ends (the device or a peer is stuck).
  static constexpr std::chrono::minutes kDeviceWorkLimit{10};

  // Thread: any, while this process is dying (std::terminate). Tells every rank why, as
  // shutdown() does, but waits at most `limit` for the final round and frees nothing: the
  // process is about to end. Returns whether the other ranks were told. On the background
  // thread itself no round can run any more, so it ends the job instead (abort_job).
  bool abandon(std::string reason, std::chrono::milliseconds limit);

 private:
  Runtime(Settings settings, std::unique_ptr<MpiContext> mpi, HandleTable* handles,
          std::unique_ptr<Timeline> timeline);

  // Background thread body and its steps, in the order DESIGN.md describes them.
  void background_loop();
  Status run_until_shutdown();
  void wait_for_work();  // returns when it is time for the next round
  Status execute(const Response& response);
  // Host ops with inputs the adapter is still copying out of GPU memory: waits for the copies
  // (staged_input_wait.h), then, if `recording` (the timeline was when the op started), ends
  // WAIT_FOR_DATA and starts `activity` on the timeline.
  Status wait_for_staged(const std::vector<TensorTableEntry>& entries, const char* activity,
                         bool recording);
  // An allreduce, broadcast or allgather on the GPU data plane: queued on the device,
  // completed by the finalizer.
  Status execute_on_device(const Response& response);
  // For the timeline: ends WAIT_FOR_DATA and starts `activity` on the entries' rows once every
  // ready event has happened (an empty milestone unless `waits_for_data`).
  CompletionFinalizer::Milestone inputs_ready(
      bool waits_for_data, std::vector<std::shared_ptr<const DeviceEvent>> ready_events,
      std::shared_ptr<std::vector<TensorTableEntry>> entries, const std::string& activity);
  // The entries a response names. A rank that has joined runs allreduces it never submitted
  // with zeros, kept alive in `zeros` (host) or `device_zeros`; error responses skip names
  // this rank lacks.
  Status take_entries(const Response& response, std::vector<TensorTableEntry>* entries,
                      std::vector<std::vector<char>>* zeros,
                      std::vector<std::shared_ptr<void>>* device_zeros);
  // Timeline rows as a response starts and ends: NEGOTIATE_<OP> ends, <OP> and `activity`
  // (may be null) run between the two.
  void timeline_started(const Response& response, const std::vector<TensorTableEntry>& entries,
                        const char* activity);
  void timeline_finished(const Response& response, const std::vector<TensorTableEntry>& entries,
                         const char* activity);
  Status run(const Response& response, std::vector<TensorTableEntry>& entries);
  void complete(TensorTableEntry& entry, const Status& status);
  static Status shutdown_reason(const ResponseList& responses);
  // may_block=false: for a dying thread, which may hold the queue's lock (see try_wake).
  void request_shutdown(std::string reason, bool may_block = true) HVD_EXCLUDES(reason_mu_);
  std::string requested_shutdown_reason() HVD_EXCLUDES(reason_mu_);
  // For a failure of this rank alone: the other ranks are inside, or will enter, a round or a
  // collective that needs this rank, and MPI offers no way out of either. Also for failed or
  // stuck device work (the finalizer thread calls it then). Logs why, then ends
  // every process of the job rather than leave them hanging.
  [[noreturn]] void abort_job(const Status& failure);

  const Settings settings_;
  std::unique_ptr<MpiContext> mpi_;
  const bool owns_mpi_;
  HandleTable* const handles_;
  RuntimeCounters counters_;
  std::unique_ptr<Timeline> timeline_;  // thread-safe; records from the background thread
  TensorQueue queue_;
  std::unique_ptr<ControlChannel> channel_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<AllreduceExecutor> allreduce_executor_;
  std::unique_ptr<AllgatherExecutor> allgather_executor_;
  DeviceExecution device_;                // its plane released in shutdown(), before MPI
  bool last_round_progressed_ = false;    // background thread only
  bool joined_ = false;                   // background thread only: our join is negotiating
  std::chrono::microseconds cycle_time_;  // background thread only; autotuning changes it
  bool stopped_by_agreement_ = false;     // background thread only: every rank got the reason
  std::atomic<bool> shutdown_requested_{false};
  Mutex reason_mu_;
  std::string shutdown_reason_ HVD_GUARDED_BY(reason_mu_);
  std::atomic<std::int64_t> auto_name_counters_[kNumOpTypes + 1] = {};  // last: groups

  Mutex finish_mu_;
  CondVar finish_cv_{&finish_mu_};
  bool loop_finished_ HVD_GUARDED_BY(finish_mu_) = false;
  std::thread thread_;  // started last in create(), joined in shutdown()
  // Set by the background thread as it starts; read by abandon() on a dying thread, which
  // must not touch thread_ while shutdown() may be joining it.
  std::atomic<std::thread::id> background_thread_id_{};
};

}  // namespace hvd
