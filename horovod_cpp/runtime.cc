#include "horovod_cpp/runtime.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <functional>

#include "collectives/mpi_control_channel.h"
#include "horovod_cpp/allocator_tuning.h"
#include "horovod_cpp/alltoall_op.h"
#include "horovod_cpp/broadcast_op.h"
#include "horovod_cpp/launcher_checkin.h"
#include "horovod_cpp/logging.h"
#include "horovod_cpp/rank_ranges.h"
#include "horovod_cpp/reducescatter_op.h"
#include "horovod_cpp/staged_input_wait.h"

namespace hvd {
namespace {
// With nothing in flight a rank still joins a negotiation round this often (see
// wait_for_work).
constexpr std::chrono::microseconds kIdleRoundPeriod = std::chrono::seconds(1);
constexpr std::chrono::microseconds kIdleSpin{50};

// "allreduce" -> "ALLREDUCE", for timeline activity names.
std::string upper(const char* name) {
  std::string out(name);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

constexpr char kWaitForData[] = "WAIT_FOR_DATA";

const char* mpi_activity(ResponseType type) {
  switch (type) {
    case ResponseType::Allgather:
      return "MPI_ALLGATHER";
    case ResponseType::Broadcast:
      return "MPI_BCAST";
    case ResponseType::Reducescatter:
      return "MPI_REDUCESCATTER";
    case ResponseType::Alltoall:
      return "MPI_ALLTOALL";
    default:
      return nullptr;  // allreduce marks its own steps; the rest move no data
  }
}
// How long a cache hit may wait for other ranks before it is handed to the coordinator, where
// the stall inspector can name the missing ranks: a quarter of the shortest stall deadline,
// so reports come at most 25% late, while ranks that lag each other by less keep their hits.
std::chrono::milliseconds cache_hold_limit(const Settings& settings) {
  if (settings.stall_check_disabled)
    return std::chrono::hours(24 * 365);
  std::chrono::milliseconds deadline = settings.stall_check_time;
  if (settings.stall_shutdown_time.count() > 0)
    deadline = std::min<std::chrono::milliseconds>(deadline, settings.stall_shutdown_time);
  return std::max<std::chrono::milliseconds>(deadline / 4, std::chrono::milliseconds(100));
}

// Where the hierarchical allreduce can run at all: GPU allreduces, several hosts, and the same
// number of ranks on each. Only there does autotuning try it both ways.
bool hierarchy_possible(const Topology& topology) {
  return static_cast<bool>(device_plane_factory()) && topology.cross_size > 1 &&
         topology.homogeneous;
}

ControllerOptions controller_options(const Settings& settings, const Topology& topology) {
  ControllerOptions options;
  options.fusion_threshold_bytes = settings.fusion_threshold_bytes;
  options.stall = StallSettings{settings.stall_check_time, settings.stall_shutdown_time,
                                settings.stall_check_disabled};
  options.cache_capacity = settings.cache_capacity;
  options.hit_hold_limit = cache_hold_limit(settings);
  options.autotune = settings.autotune;
  options.autotune_options.warmup_samples = settings.autotune_warmup_samples;
  options.autotune_options.steps_per_sample = settings.autotune_steps_per_sample;
  options.autotune_options.log_path = settings.autotune_log_path;
  options.autotune_options.tune_hierarchical =
      settings.gpu_operations_nccl && hierarchy_possible(topology);
  options.cycle_time_us = settings.cycle_time.count();
  options.hierarchical_allreduce = settings.hierarchical_allreduce;
  return options;
}

}  // namespace

StatusOr<std::unique_ptr<Runtime>> Runtime::create(HandleTable* handles) {
  report_arrival_to_launcher();
  StatusOr<Settings> settings = Settings::from_environment();
  HVD_ASSIGN_OR_RETURN(std::unique_ptr<MpiContext> mpi, MpiContext::create());
  const int rank = mpi->topology().rank;
  // Opened before the ranks agree to start, so that a timeline path rank 0 cannot write stops
  // every rank, not just rank 0.
  auto timeline = std::make_unique<Timeline>();
  if (settings.is_ok() && rank == 0 && !settings.value().timeline_path.empty()) {
    Status opened =
        timeline->start(settings.value().timeline_path, settings.value().timeline_mark_cycles);
    if (!opened.is_ok())
      settings = opened.with_context("HOROVOD_TIMELINE");
  }
  // Agree before anyone starts negotiating: a rank that refuses to start must not leave the
  // others waiting for it, and the settings that shape negotiation must match.
  std::vector<std::int64_t> mine = {settings.is_ok() ? 0 : 1};
  std::vector<const char*> shared_names;
  for (const Settings::Shared& shared :
       (settings.is_ok() ? settings.value() : Settings()).shared()) {
    shared_names.push_back(shared.name);
    mine.push_back(shared.value);
  }
  HVD_ASSIGN_OR_RETURN(const std::vector<std::int64_t> gathered, mpi->allgather_values(mine));
  if (rank == 0)
    report_start_to_launcher(mpi->topology().size);  // every rank got this far
  if (!settings.is_ok())
    return settings.status().with_context("hvd::init()");
  std::vector<int> failed;
  std::vector<std::vector<std::int64_t>> shared_by_rank;
  for (std::size_t begin = 0; begin < gathered.size(); begin += mine.size()) {
    if (gathered[begin] != 0)
      failed.push_back(static_cast<int>(begin / mine.size()));
    shared_by_rank.emplace_back(
        gathered.begin() + static_cast<std::ptrdiff_t>(begin) + 1,
        gathered.begin() + static_cast<std::ptrdiff_t>(begin + mine.size()));
  }
  if (!failed.empty()) {
    return Status::error("hvd::init(): invalid HOROVOD_* settings on " + describe_ranks(failed) +
                         " (see the error there); no rank starts");
  }
  const Status agreed = check_shared_settings(shared_names, shared_by_rank);
  if (!agreed.is_ok())
    return Status::error("hvd::init(): " + agreed.message() + "; no rank starts");
  set_log_rank(rank);
  set_log_level(settings.value().log_level);
  const std::string allocator = settings.value().malloc_tuning
                                    ? tune_process_allocator()
                                    : "left as it is (HOROVOD_MALLOC_TUNING=0)";
  if (rank == 0) {
    log_message(LogLevel::Info, settings.value().describe() + "\n  allocator: " + allocator);
  }
  if (rank == 0 && settings.value().hierarchical_allreduce && !device_plane_factory()) {
    log_message(LogLevel::Warning,
                "HOROVOD_HIERARCHICAL_ALLREDUCE applies to allreduces on the GPU data plane, "
                "which this process lacks: host allreduces stay one MPI_Allreduce");
  }
  std::unique_ptr<Runtime> runtime(
      new Runtime(std::move(settings).value(), std::move(mpi), handles, std::move(timeline)));
  runtime->thread_ = std::thread([r = runtime.get()] { r->background_loop(); });
  return runtime;
}

Runtime::Runtime(Settings settings, std::unique_ptr<MpiContext> mpi, HandleTable* handles,
                 std::unique_ptr<Timeline> timeline)
    : settings_(std::move(settings)),
      mpi_(std::move(mpi)),
      owns_mpi_(mpi_->owns_mpi()),
      handles_(handles),
      timeline_(std::move(timeline)),
      channel_(std::make_unique<MpiControlChannel>(mpi_->control_comm())),
      controller_(std::make_unique<Controller>(
          channel_.get(), controller_options(settings_, mpi_->topology()), &counters_)),
      allreduce_executor_(
          std::make_unique<AllreduceExecutor>(mpi_.get(), &counters_, timeline_.get())),
      allgather_executor_(std::make_unique<AllgatherExecutor>(mpi_.get(), &counters_)),
      device_(device_plane_factory(), settings_, mpi_.get(), &counters_, kDeviceWorkLimit),
      cycle_time_(settings_.cycle_time) {
  counters_.fusion_threshold_bytes = settings_.fusion_threshold_bytes;
  counters_.cycle_time_us = cycle_time_.count();
  counters_.cache_enabled = controller_->cache_enabled();
  counters_.hierarchical_allreduce = settings_.hierarchical_allreduce;
  counters_.autotune_done = !settings_.autotune;
}

Runtime::~Runtime() {
  shutdown();
}

namespace {

Request request_for(const TensorTableEntry& entry, int rank) {
  Request request;
  request.rank = rank;
  request.op = entry.op;
  request.dtype = entry.dtype;
  request.reduce_op = entry.reduce_op;
  request.device = entry.device;
  request.on_device = entry.on_device;
  request.name = entry.name;
  request.shape = entry.shape;
  request.prescale = entry.prescale;
  request.postscale = entry.postscale;
  request.root_rank = entry.root_rank;
  request.splits = entry.splits;
  request.group = entry.group;
  request.group_size = entry.group_size;
  request.group_index = entry.group_index;
  return request;
}

}  // namespace

StatusOr<Handle> Runtime::enqueue(TensorTableEntry entry) {
  std::vector<TensorTableEntry> entries;
  entries.push_back(std::move(entry));
  HVD_ASSIGN_OR_RETURN(std::vector<Handle> handles, enqueue_all(std::move(entries)));
  return handles.front();
}

StatusOr<std::vector<Handle>> Runtime::enqueue_all(std::vector<TensorTableEntry> entries) {
  // Every entry is checked before the group claims a device, and the claim is made under the
  // queue's lock once the queue accepts the names, so a refused group claims nothing.
  const TensorTableEntry* first_on_device = nullptr;
  for (const TensorTableEntry& entry : entries) {
    if (!entry.on_device)
      continue;
    HVD_RETURN_IF_ERROR(device_.check(entry));
    if (first_on_device == nullptr) {
      first_on_device = &entry;
    } else if (entry.device != first_on_device->device) {
      return Status::error("a group's tensors are on GPU " +
                           std::to_string(first_on_device->device) + " ('" + first_on_device->name +
                           "') and GPU " + std::to_string(entry.device) + " ('" + entry.name +
                           "'): one GPU per rank");
    }
  }
  // The claim's message names the entry, which the queue then owns: a copy of what it needs.
  std::function<Status()> claim;
  if (first_on_device != nullptr) {
    claim = [this, op = first_on_device->op, name = first_on_device->name,
             device = first_on_device->device] { return device_.claim(op, name, device); };
  }
  std::vector<Request> requests;
  std::vector<Handle> handles;
  for (TensorTableEntry& entry : entries) {
    requests.push_back(request_for(entry, topology().rank));
    const Handle handle = handles_->allocate();
    handles.push_back(handle);
    auto user_callback = std::move(entry.callback);
    entry.callback = [handles = handles_, handle, user_callback](const Status& status) {
      if (user_callback)
        user_callback(status);
      handles->complete(handle, status);
    };
  }
  const auto count = static_cast<std::int64_t>(entries.size());
  Status pushed = queue_.push_all(std::move(entries), std::move(requests), claim);
  if (!pushed.is_ok()) {
    for (Handle handle : handles)
      handles_->release(handle);
    return pushed;
  }
  RuntimeCounters::add(counters_.tensors_submitted, count);
  return handles;
}

std::string Runtime::auto_name(OpType op) {
  const auto n = auto_name_counters_[static_cast<int>(op)]++;
  return std::string(op_type_name(op)) + ".noname." + std::to_string(n);
}

std::string Runtime::auto_group_name() {
  return "grouped_allreduce.noname." + std::to_string(auto_name_counters_[kNumOpTypes]++);
}

void Runtime::request_shutdown(std::string reason, bool may_block) {
  {
    MutexLock lock(&reason_mu_);
    if (shutdown_reason_.empty())
      shutdown_reason_ = std::move(reason);
  }
  shutdown_requested_ = true;
  if (may_block)
    queue_.wake();
  else
    queue_.try_wake();  // the background thread's waits end within kIdleRoundPeriod anyway
}

std::string Runtime::requested_shutdown_reason() {
  MutexLock lock(&reason_mu_);
  return shutdown_reason_;
}

bool Runtime::abandon(std::string reason, std::chrono::milliseconds limit) {
  const std::thread::id background = background_thread_id_.load();
  if (background == std::thread::id())
    return false;
  if (std::this_thread::get_id() == background)
    abort_job(Status::error("the background thread failed: " + reason));
  request_shutdown(std::move(reason), /*may_block=*/false);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  MutexLock lock(&finish_mu_);
  while (!loop_finished_) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      return false;
    finish_cv_.wait_for(deadline - now);
  }
  return true;
}

void Runtime::shutdown(std::string reason) {
  if (!thread_.joinable())
    return;
  request_shutdown(std::move(reason));
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
  timeline_->stop();
  device_.release();
  allreduce_executor_.reset();
  allgather_executor_.reset();
  controller_.reset();
  channel_.reset();
  mpi_.reset();  // frees communicators and ops; finalizes MPI if we initialized it
}

void Runtime::background_loop() {
  background_thread_id_ = std::this_thread::get_id();
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
  if (!stopped_by_agreement_)
    abort_job(reason);
  for (TensorTableEntry& entry : queue_.close(reason))
    complete(entry, reason);
  // Device work already queued normally finishes: its ops complete as usual, within the limit.
  device_.stop(reason);
  MutexLock lock(&finish_mu_);
  loop_finished_ = true;
  finish_cv_.signal_all();
}

void Runtime::wait_for_work() {
  if (shutdown_requested_)
    return;
  if (queue_.in_flight() > 0) {
    // Some ops await other ranks. Right after a round that moved anything, the others are
    // likely to have more at once: go straight on (the next round's gather is the wait).
    // Otherwise retry every cycle time, sooner on new local work.
    if (!last_round_progressed_)
      queue_.wait_for_work(cycle_time_);
    return;
  }
  // Nothing of ours in flight: still take part in a round this often, so that peers waiting on
  // us finish their rounds, a shutdown elsewhere reaches us, and rank 0's stall inspector
  // runs even while this rank's user thread never calls horovod_cpp.
  // A user thread that runs one op after another submits the next within microseconds of
  // the last one's completion: poll briefly before sleeping (4-byte allreduce: 25-26 -> 17-18 us
  // on the 2-core VM, with the same poll in synchronize()).
  queue_.wait_for_work(kIdleRoundPeriod, kIdleSpin);
}

// drain -> negotiate -> (plan: done by the coordinator) -> execute -> complete
Status Runtime::run_until_shutdown() {
  while (true) {
    wait_for_work();
    // A user thread that just woke us is often mid-burst (gradients, many async calls):
    // letting it run on first batches the burst into this round at the cost of one yield.
    std::this_thread::yield();
    RequestList mine;
    mine.requests = queue_.drain_requests();
    timeline_->mark_cycle();
    if (timeline_->active()) {
      for (const Request& request : mine.requests)
        timeline_->begin(request.name, "NEGOTIATE_" + upper(op_type_name(request.op)));
    }
    const auto round_start = std::chrono::steady_clock::now();
    for (const Request& request : mine.requests) {
      if (request.op == OpType::Join)
        joined_ = true;
    }
    mine.shutdown = shutdown_requested_;
    if (mine.shutdown)
      mine.shutdown_reason = requested_shutdown_reason();
    StatusOr<ResponseList> negotiated = controller_->negotiate(mine);
    if (!negotiated.is_ok()) {
      return negotiated.status().with_context("horovod_cpp stopped: negotiation failed");
    }
    RuntimeCounters::add(counters_.negotiation_cycles, 1);
    RuntimeCounters::add(counters_.negotiation_micros,
                         std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - round_start)
                             .count());
    last_round_progressed_ = negotiated.value().progress;
    if (negotiated.value().tuned_fusion_threshold_bytes > 0) {
      cycle_time_ = std::chrono::microseconds(negotiated.value().tuned_cycle_time_us);
      counters_.fusion_threshold_bytes = controller_->fusion_threshold_bytes();
      counters_.cycle_time_us = cycle_time_.count();
      counters_.cache_enabled = controller_->cache_enabled();
      device_.set_hierarchical_allreduce(negotiated.value().tuned_hierarchical_allreduce);
      counters_.hierarchical_allreduce = negotiated.value().tuned_hierarchical_allreduce;
      counters_.autotune_done = negotiated.value().tuning_final;
    }
    for (const Response& response : negotiated.value().responses) {
      HVD_RETURN_IF_ERROR(execute(response));
    }
    if (negotiated.value().shutdown()) {
      stopped_by_agreement_ = true;
      return shutdown_reason(negotiated.value());
    }
  }
}

Status Runtime::shutdown_reason(const ResponseList& responses) {
  if (!responses.abort_reason.empty())
    return Status::error(responses.abort_reason);
  // Several ranks may stop in one round; name each with its own reason, up to a few.
  constexpr size_t kMostNamed = 4;
  std::string message;
  const size_t count = responses.shutdown_ranks.size();
  for (size_t i = 0; i < count && i < kMostNamed; ++i) {
    const std::string& why =
        i < responses.shutdown_reasons.size() ? responses.shutdown_reasons[i] : std::string();
    message += (i == 0 ? "" : "; ") + std::string("rank ") +
               std::to_string(responses.shutdown_ranks[i]) + " shut down" +
               (why.empty() ? std::string() : ": " + why);
  }
  if (count > kMostNamed)
    message += "; and " + std::to_string(count - kMostNamed) + " more ranks";
  return Status::error(message);
}

void Runtime::abort_job(const Status& failure) {
  log_message(LogLevel::Error,
              failure.message() +
                  ". This rank cannot go on, and the other ranks would wait for it forever: "
                  "ending the whole job (MPI_Abort)");
  std::fflush(nullptr);
  mpi_->abort_job(1);
}

void Runtime::timeline_started(const Response& response,
                               const std::vector<TensorTableEntry>& entries, const char* activity) {
  if (!timeline_->active())
    return;
  // (Zeros this rank runs while joined get rows too: they show what the join cost.)
  for (const TensorTableEntry& entry : entries) {
    const std::string op = upper(op_type_name(entry.op));
    timeline_->end(entry.name, "NEGOTIATE_" + op);
    if (response.type != ResponseType::Error)
      timeline_->begin(entry.name, op);
    if (activity != nullptr)
      timeline_->begin(entry.name, activity);
  }
}

void Runtime::timeline_finished(const Response& response,
                                const std::vector<TensorTableEntry>& entries,
                                const char* activity) {
  if (!timeline_->active() || response.type == ResponseType::Error)
    return;
  for (const TensorTableEntry& entry : entries) {
    if (activity != nullptr)
      timeline_->end(entry.name, activity);
    timeline_->end(entry.name, upper(op_type_name(entry.op)));
  }
}

Status Runtime::execute(const Response& response) {
  if (response.on_device && DeviceExecution::runs(response.type))
    return execute_on_device(response);
  std::vector<TensorTableEntry> entries;
  std::vector<std::vector<char>> zeros;
  HVD_RETURN_IF_ERROR(take_entries(response, &entries, &zeros, nullptr));
  const char* activity = mpi_activity(response.type);
  const bool staged = response.type != ResponseType::Error && has_staged_inputs(entries);
  // Read once: a timeline started during the wait must not get its span's end alone.
  const bool recording = timeline_->active();
  timeline_started(response, entries, staged ? kWaitForData : activity);
  Status status = staged ? wait_for_staged(entries, activity, recording) : Status::ok();
  if (status.is_ok())
    status = run(response, entries);
  timeline_finished(response, entries, activity);
  HandleTable::Batch wake_once(handles_);
  if (!status.is_ok() && response.type != ResponseType::Error) {
    // The coordinator validated this op on every rank, so this failure is this rank's alone
    // (an allocation, a local limit, MPI): the other ranks are inside the collective.
    for (TensorTableEntry& entry : entries)
      complete(entry, status);
    return status.with_context("rank " + std::to_string(mpi_->topology().rank));
  }
  // Count before the callbacks run, so a caller woken by one sees its op in stats().
  if (status.is_ok() && response.type == ResponseType::Allreduce) {
    RuntimeCounters::add(counters_.tensors_reduced, static_cast<std::int64_t>(entries.size()));
  }
  if (response.type == ResponseType::Join)
    joined_ = false;
  for (TensorTableEntry& entry : entries)
    complete(entry, status);
  return Status::ok();
}

Status Runtime::wait_for_staged(const std::vector<TensorTableEntry>& entries, const char* activity,
                                bool recording) {
  StagedInputBounds bounds;
  bounds.warning_period = settings_.stall_check_disabled
                              ? std::chrono::milliseconds(0)
                              : std::chrono::milliseconds(settings_.stall_check_time);
  bounds.limit = kDeviceWorkLimit;
  const Status waited = wait_for_staged_inputs(
      entries, bounds, [](const std::string& message) { log_message(LogLevel::Warning, message); });
  if (recording) {
    for (const TensorTableEntry& entry : entries) {
      timeline_->end(entry.name, kWaitForData);
      if (activity != nullptr)
        timeline_->begin(entry.name, activity);
    }
  }
  return waited;
}

Status Runtime::execute_on_device(const Response& response) {
  const std::string rank = "rank " + std::to_string(mpi_->topology().rank);
  HVD_RETURN_IF_ERROR(device_.start().with_context(rank + ": starting the GPU data plane"));
  auto entries = std::make_shared<std::vector<TensorTableEntry>>();
  std::vector<std::shared_ptr<void>> device_zeros;
  HVD_RETURN_IF_ERROR(take_entries(response, entries.get(), nullptr, &device_zeros));
  const std::string activity = device_.activity(response.type);
  // On the timeline, WAIT_FOR_DATA runs from here until the finalizer sees every input's ready
  // event happen; the collective's span starts then.
  std::vector<std::shared_ptr<const DeviceEvent>> ready_events;
  for (const TensorTableEntry& entry : *entries) {
    if (entry.ready)
      ready_events.push_back(entry.ready);
  }
  const bool waits_for_data = timeline_->active() && !ready_events.empty();
  const char* first_span = waits_for_data ? kWaitForData : activity.c_str();
  timeline_started(response, *entries, first_span);
  const Status queued = device_.enqueue(response, *entries);
  if (!queued.is_ok()) {
    timeline_finished(response, *entries, first_span);
    HandleTable::Batch wake_once(handles_);
    for (TensorTableEntry& entry : *entries)
      complete(entry, queued);
    return queued.with_context(rank);
  }
  const std::string what =
      response.names.size() == 1
          ? std::string(op_type_name(entries->front().op)) + " '" + response.names.front() + "'"
          : "fused allreduce of " + std::to_string(response.names.size()) +
                " tensors starting with '" + response.names.front() + "'";
  // The zeros stay alive until the device has run the reduction that reads them.
  const int device = device_.plane()->device();
  device_.finalizer()->add(
      device_.plane()->completion(),
      [this, device, response, entries, device_zeros, activity, what, rank](const Status& status) {
        // The device or a peer failed, or the work is stuck: the stream may still read and write
        // these tensors, and the ranks no longer agree which ops ran (each decides its own
        // timeout), so nothing may be freed or reported as done. Like NCCL's own watchdog in
        // PyTorch, end the job (before the captures, device memory among them, are freed).
        if (!status.is_ok()) {
          abort_job(status.with_context(rank + ": " + what + " on GPU " + std::to_string(device)));
        }
        timeline_finished(response, *entries, activity.c_str());
        HandleTable::Batch wake_once(handles_);
        if (response.type == ResponseType::Allreduce) {
          RuntimeCounters::add(counters_.tensors_reduced,
                               static_cast<std::int64_t>(entries->size()));
        }
        for (TensorTableEntry& entry : *entries)
          complete(entry, status);
      },
      inputs_ready(waits_for_data, std::move(ready_events), entries, activity));
  return Status::ok();
}

CompletionFinalizer::Milestone Runtime::inputs_ready(
    bool waits_for_data, std::vector<std::shared_ptr<const DeviceEvent>> ready_events,
    std::shared_ptr<std::vector<TensorTableEntry>> entries, const std::string& activity) {
  if (!waits_for_data)
    return {};
  CompletionFinalizer::Milestone milestone;
  milestone.reached = [events = std::move(ready_events)]() {
    for (const auto& event : events) {
      StatusOr<bool> happened = event->happened();
      if (!happened.is_ok() || !happened.value())
        return happened;
    }
    return StatusOr<bool>(true);
  };
  milestone.on_reached = [this, entries = std::move(entries), activity] {
    for (const TensorTableEntry& entry : *entries) {
      timeline_->end(entry.name, kWaitForData);
      timeline_->begin(entry.name, activity);
    }
  };
  return milestone;
}

Status Runtime::take_entries(const Response& response, std::vector<TensorTableEntry>* entries,
                             std::vector<std::vector<char>>* zeros,
                             std::vector<std::shared_ptr<void>>* device_zeros) {
  entries->reserve(response.names.size());
  for (size_t i = 0; i < response.names.size(); ++i) {
    const std::string& name = response.names[i];
    std::optional<TensorTableEntry> entry = queue_.take(name);
    if (entry) {
      entries->push_back(std::move(*entry));
      continue;
    }
    if (response.type == ResponseType::Error)
      continue;  // e.g. a group member only other ranks submitted: nothing to fail here
    if (response.type == ResponseType::Allreduce && joined_) {
      TensorTableEntry stand_in;
      stand_in.name = name;
      stand_in.dtype = response.dtype;
      stand_in.shape = {response.element_counts[i]};
      if (response.on_device) {
        // Reduced in place: the input's zeros become this rank's copy of the result.
        HVD_ASSIGN_OR_RETURN(std::shared_ptr<void> memory,
                             device_.plane()->zeroed(stand_in.byte_size()));
        stand_in.on_device = true;
        stand_in.device = device_.plane()->device();
        stand_in.input = memory.get();
        stand_in.output = memory.get();
        device_zeros->push_back(std::move(memory));
        entries->push_back(std::move(stand_in));
        continue;
      }
      zeros->emplace_back(static_cast<size_t>(stand_in.byte_size()), 0);
      stand_in.input = zeros->back().data();
      zeros->emplace_back(static_cast<size_t>(stand_in.byte_size()));
      stand_in.output = zeros->back().data();
      entries->push_back(std::move(stand_in));
      continue;
    }
    // Every rank runs the same list; a name we never submitted means the protocol broke,
    // and skipping the collective would leave the other ranks waiting in it.
    return Status::error("horovod_cpp stopped: the coordinator scheduled '" + name +
                         "', which this rank never submitted");
  }
  return Status::ok();
}

Status Runtime::run(const Response& response, std::vector<TensorTableEntry>& entries) {
  switch (response.type) {
    case ResponseType::Error:
      return Status::error(response.error_message);
    case ResponseType::Allreduce:
      return allreduce_executor_->execute(response, entries);
    case ResponseType::Broadcast:
      return run_broadcast(response, entries.front(), *mpi_);
    case ResponseType::Allgather:
      return allgather_executor_->execute(response, entries);
    case ResponseType::Reducescatter:
      return run_reducescatter(response, entries.front(), *mpi_);
    case ResponseType::Alltoall:
      return run_alltoall(response, entries.front(), *mpi_);
    case ResponseType::Barrier:
      return Status::ok();  // the response exists only once every rank has arrived
    case ResponseType::Join: {
      const std::int32_t last_joined = response.root_rank;
      std::memcpy(entries.front().output, &last_joined, sizeof(last_joined));
      return Status::ok();
    }
  }
  return Status::error("internal: unknown response type");
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

Status Runtime::start_timeline(const std::string& path, bool mark_cycles) {
  if (mpi_->topology().rank != 0)
    return Status::ok();
  return timeline_->start(path, mark_cycles);
}

void Runtime::stop_timeline() {
  timeline_->stop();
}

}  // namespace hvd
