#include "horovod_cpp/runtime.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "collectives/mpi_control_channel.h"
#include "horovod_cpp/allgather_op.h"
#include "horovod_cpp/allocator_tuning.h"
#include "horovod_cpp/broadcast_op.h"
#include "horovod_cpp/logging.h"
#include "horovod_cpp/rank_ranges.h"

namespace hvd {
namespace {
// With nothing in flight the thread has nothing to negotiate; it wakes this often only to
// re-check, never to communicate.
constexpr std::chrono::microseconds kIdleRecheck = std::chrono::seconds(1);
}  // namespace

StatusOr<std::unique_ptr<Runtime>> Runtime::create(HandleTable* handles) {
  StatusOr<Settings> settings = Settings::from_environment();
  HVD_ASSIGN_OR_RETURN(std::unique_ptr<MpiContext> mpi, MpiContext::create());
  // Agree before anyone starts negotiating: a rank that refuses to start must not leave the
  // others waiting for it.
  HVD_ASSIGN_OR_RETURN(const std::vector<int> failed,
                       mpi->ranks_reporting_failure(settings.is_ok()));
  if (!settings.is_ok())
    return settings.status().with_context("hvd::init()");
  if (!failed.empty()) {
    return Status::error("hvd::init(): invalid HOROVOD_* settings on " + describe_ranks(failed) +
                         " (see the error there); no rank starts");
  }
  const int rank = mpi->topology().rank;
  set_log_rank(rank);
  set_log_level(settings.value().log_level);
  const std::string allocator = settings.value().malloc_tuning
                                    ? tune_process_allocator()
                                    : "left as it is (HOROVOD_MALLOC_TUNING=0)";
  if (rank == 0) {
    log_message(LogLevel::Info, settings.value().describe() + "\n  allocator: " + allocator);
  }
  if (!settings.value().timeline_path.empty() && rank == 0) {
    log_message(LogLevel::Warning,
                "HOROVOD_TIMELINE is set but the timeline is not implemented yet; ignoring it");
  }
  std::unique_ptr<Runtime> runtime(
      new Runtime(std::move(settings).value(), std::move(mpi), handles));
  runtime->thread_ = std::thread([r = runtime.get()] { r->background_loop(); });
  return runtime;
}

Runtime::Runtime(Settings settings, std::unique_ptr<MpiContext> mpi, HandleTable* handles)
    : settings_(std::move(settings)),
      mpi_(std::move(mpi)),
      owns_mpi_(mpi_->owns_mpi()),
      handles_(handles),
      channel_(std::make_unique<MpiControlChannel>(mpi_->control_comm())),
      controller_(std::make_unique<Controller>(channel_.get(), settings_.fusion_threshold_bytes)),
      executor_(std::make_unique<AllreduceExecutor>(mpi_.get(), &counters_)) {}

Runtime::~Runtime() {
  shutdown();
}

StatusOr<Handle> Runtime::enqueue(TensorTableEntry entry) {
  Request request;
  request.rank = topology().rank;
  request.op = entry.op;
  request.dtype = entry.dtype;
  request.reduce_op = entry.reduce_op;
  request.device = entry.device;
  request.name = entry.name;
  request.shape = entry.shape;
  request.prescale = entry.prescale;
  request.postscale = entry.postscale;
  request.root_rank = entry.root_rank;

  const Handle handle = handles_->allocate();
  auto user_callback = std::move(entry.callback);
  entry.callback = [handles = handles_, handle, user_callback](const Status& status) {
    if (user_callback)
      user_callback(status);
    handles->complete(handle, status);
  };
  Status pushed = queue_.push(std::move(entry), std::move(request));
  if (!pushed.is_ok()) {
    handles_->release(handle);
    return pushed;
  }
  RuntimeCounters::add(counters_.tensors_submitted, 1);
  return handle;
}

std::string Runtime::auto_name(OpType op) {
  return std::string(op_type_name(op)) + ".noname." + std::to_string(auto_name_counter_++);
}

void Runtime::shutdown() {
  if (!thread_.joinable())
    return;
  shutdown_requested_ = true;
  queue_.wake();
  {
    MutexLock lock(&finish_mu_);
    const auto start = std::chrono::steady_clock::now();
    while (!loop_finished_) {
      if (!finish_cv_.wait_for(kShutdownWarningPeriod)) {
        const auto waited = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::steady_clock::now() - start);
        log_message(LogLevel::Warning,
                    "hvd::shutdown() has waited " + std::to_string(waited.count()) +
                        " s for the other ranks to join the final negotiation round; a rank "
                        "that never calls horovod_cpp again (nor exits) holds it up");
      }
    }
  }
  thread_.join();
  executor_.reset();
  controller_.reset();
  channel_.reset();
  mpi_.reset();  // frees communicators and ops; finalizes MPI if we initialized it
}

void Runtime::background_loop() {
#ifdef __linux__
  // The thread sleeps in short steps while it waits for peers (mpi_request_wait.h); the
  // default 50 us timer slack would stretch each of them.
  prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
#endif
  Status reason;
  try {
    reason = run_until_shutdown();
  } catch (const std::exception& e) {
    reason = Status::error(std::string("horovod_cpp background thread failed: ") + e.what());
  } catch (...) {
    reason = Status::error("horovod_cpp background thread failed with an unknown exception");
  }
  if (!shutdown_requested_)
    log_message(LogLevel::Error, reason.message());
  for (TensorTableEntry& entry : queue_.close(reason))
    complete(entry, reason);
  MutexLock lock(&finish_mu_);
  loop_finished_ = true;
  finish_cv_.signal_all();
}

bool Runtime::wait_for_work() {
  if (shutdown_requested_)
    return true;
  if (queue_.in_flight() > 0) {
    // Some ops await other ranks. Right after a round that moved anything, the others are
    // likely to have more at once: go straight on (the next round's gather is the wait).
    // Otherwise retry every cycle time, sooner on new local work.
    if (!last_round_progressed_)
      queue_.wait_for_work(settings_.cycle_time);
    return true;
  }
  queue_.wait_for_work(kIdleRecheck);
  return shutdown_requested_ || queue_.in_flight() > 0;
}

// drain -> negotiate -> (plan: done by the coordinator) -> execute -> complete
Status Runtime::run_until_shutdown() {
  while (true) {
    if (!wait_for_work())
      continue;
    // A user thread that just woke us is often mid-burst (gradients, many async calls):
    // letting it run on first batches the burst into this round at the cost of one yield.
    std::this_thread::yield();
    RequestList mine;
    mine.requests = queue_.drain_requests();
    mine.shutdown = shutdown_requested_;
    StatusOr<ResponseList> negotiated = controller_->negotiate(mine);
    if (!negotiated.is_ok()) {
      return negotiated.status().with_context("horovod_cpp stopped: negotiation failed");
    }
    RuntimeCounters::add(counters_.negotiation_cycles, 1);
    last_round_progressed_ = negotiated.value().progress;
    for (const Response& response : negotiated.value().responses) {
      HVD_RETURN_IF_ERROR(execute(response));
    }
    if (negotiated.value().shutdown())
      return shutdown_reason(negotiated.value());
  }
}

Status Runtime::shutdown_reason(const ResponseList& responses) {
  std::vector<int> ranks(responses.shutdown_ranks.begin(), responses.shutdown_ranks.end());
  return Status::error("horovod_cpp has shut down: hvd::shutdown() was called on " +
                       describe_ranks(ranks));
}

Status Runtime::execute(const Response& response) {
  std::vector<TensorTableEntry> entries;
  entries.reserve(response.names.size());
  for (const std::string& name : response.names) {
    std::optional<TensorTableEntry> entry = queue_.take(name);
    if (!entry) {
      // Every rank runs the same list; a name we never submitted means the protocol broke,
      // and skipping the collective would leave the other ranks waiting in it.
      return Status::error("horovod_cpp stopped: the coordinator scheduled '" + name +
                           "', which this rank never submitted");
    }
    entries.push_back(std::move(*entry));
  }
  Status status;
  switch (response.type) {
    case ResponseType::Error:
      status = Status::error(response.error_message);
      break;
    case ResponseType::Allreduce:
      status = executor_->execute(response, entries);
      break;
    case ResponseType::Broadcast:
      status = run_broadcast(response, entries.front(), *mpi_);
      break;
    case ResponseType::Allgather:
      status = run_allgather(response, entries.front(), *mpi_);
      break;
  }
  // Count before the callbacks run, so a caller woken by one sees its op in stats().
  if (status.is_ok() && response.type == ResponseType::Allreduce) {
    RuntimeCounters::add(counters_.tensors_reduced, static_cast<std::int64_t>(entries.size()));
  }
  for (TensorTableEntry& entry : entries)
    complete(entry, status);
  return Status::ok();
}

void Runtime::complete(TensorTableEntry& entry, const Status& status) {
  if (!status.is_ok())
    RuntimeCounters::add(counters_.errors_reported, 1);  // before the callback
  if (!entry.callback)
    return;
  try {
    entry.callback(status);
  } catch (const std::exception& e) {
    log_message(LogLevel::Error, "callback of '" + entry.name + "' threw: " + e.what());
  } catch (...) {
    log_message(LogLevel::Error, "callback of '" + entry.name + "' threw");
  }
}

}  // namespace hvd
