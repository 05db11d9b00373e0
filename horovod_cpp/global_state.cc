#include "horovod_cpp/global_state.h"

#include <cstdlib>

#include "horovod_cpp/logging.h"

namespace hvd {
namespace {

enum class Phase { NotStarted, Running, ShutDown };

struct GlobalState {
  Mutex mu;
  std::shared_ptr<Runtime> runtime HVD_GUARDED_BY(mu);
  Phase phase HVD_GUARDED_BY(mu) = Phase::NotStarted;
  bool mpi_finalized_by_us HVD_GUARDED_BY(mu) = false;
  bool exit_hook_registered HVD_GUARDED_BY(mu) = false;
};

// Deliberately leaked: the atexit hook and late user threads may still reach it while static
// destructors run. It owns no MPI handle itself (the Runtime does, and shutdown ends it).
GlobalState& state() {
  static GlobalState* s = new GlobalState();
  return *s;
}

void shutdown_at_exit() {
  if (runtime_is_live()) {
    log_message(LogLevel::Warning, "hvd::shutdown() was not called; shutting down at exit");
    shutdown_runtime();
  }
}

}  // namespace

HandleTable& global_handles() {
  static HandleTable* handles = new HandleTable();
  return *handles;
}

StatusOr<std::shared_ptr<Runtime>> current_runtime(const char* caller) {
  GlobalState& s = state();
  MutexLock lock(&s.mu);
  switch (s.phase) {
    case Phase::Running:
      return s.runtime;
    case Phase::NotStarted:
      return Status::error(std::string(caller) +
                           " was called before hvd::init(); call hvd::init() first");
    case Phase::ShutDown:
      break;
  }
  return Status::error(std::string(caller) + " was called after hvd::shutdown()");
}

Status initialize_runtime() {
  GlobalState& s = state();
  MutexLock lock(&s.mu);
  if (s.phase == Phase::Running)
    return Status::ok();
  if (s.mpi_finalized_by_us) {
    return Status::error(
        "hvd::init() after hvd::shutdown(): horovod_cpp finalized MPI at shutdown, and MPI "
        "cannot start twice in one process. To re-initialize, call MPI_Init_thread yourself "
        "before the first hvd::init(), so that MPI's lifetime stays yours");
  }
  HVD_ASSIGN_OR_RETURN(std::unique_ptr<Runtime> runtime, Runtime::create(&global_handles()));
  s.runtime = std::move(runtime);
  s.phase = Phase::Running;
  if (!s.exit_hook_registered) {
    s.exit_hook_registered = std::atexit(&shutdown_at_exit) == 0;
  }
  return Status::ok();
}

void shutdown_runtime() {
  GlobalState& s = state();
  MutexLock lock(&s.mu);
  if (s.phase != Phase::Running)
    return;
  s.runtime->shutdown();
  s.mpi_finalized_by_us = s.runtime->owns_mpi();
  s.runtime.reset();
  s.phase = Phase::ShutDown;
}

bool runtime_is_live() {
  GlobalState& s = state();
  MutexLock lock(&s.mu);
  return s.phase == Phase::Running;
}

}  // namespace hvd
