#include "horovod_cpp/global_state.h"

#include <cxxabi.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <typeinfo>

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
  bool terminate_handler_installed HVD_GUARDED_BY(mu) = false;
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
    shutdown_runtime("the process exited without calling hvd::shutdown()");
  }
}

// How long a dying process waits to tell the other ranks why: they join a round within about
// a second (idle rounds), so this is only reached when they are stuck themselves.
constexpr std::chrono::seconds kTerminateFarewellLimit{10};

std::terminate_handler previous_terminate_handler = nullptr;
std::atomic<bool> terminating{false};

std::string describe_uncaught_exception() {
  const std::exception_ptr current = std::current_exception();
  if (!current)
    return "std::terminate() was called";
  try {
    std::rethrow_exception(current);
  } catch (const std::exception& e) {
    std::string type = typeid(e).name();
    int status = 0;
    char* demangled = abi::__cxa_demangle(type.c_str(), nullptr, nullptr, &status);
    if (demangled != nullptr && status == 0)
      type = demangled;
    std::free(demangled);
    return "uncaught exception " + type + ": " + e.what();
  } catch (...) {
    return "uncaught exception of a type not derived from std::exception";
  }
}

// Installed by the first init(): a rank whose program dies of an uncaught exception tells the
// others why before it goes, so they fail with that reason instead of being torn down blind.
[[noreturn]] void terminate_with_farewell() {
  if (!terminating.exchange(true)) {
    const std::string reason = describe_uncaught_exception();
    log_message(LogLevel::Error, "terminating: " + reason);
    std::shared_ptr<Runtime> runtime;
    GlobalState& s = state();
    // The lock may be held by the very thread that is terminating; then we cannot say goodbye.
    if (s.mu.try_lock()) {
      if (s.phase == Phase::Running)
        runtime = s.runtime;
      s.mu.unlock();
    }
    if (runtime && !runtime->abandon(reason, kTerminateFarewellLimit)) {
      log_message(LogLevel::Error, "could not tell the other ranks within " +
                                       std::to_string(kTerminateFarewellLimit.count()) + " s");
    }
  }
  if (previous_terminate_handler != nullptr)
    previous_terminate_handler();
  std::abort();
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
  if (!s.terminate_handler_installed) {
    previous_terminate_handler = std::set_terminate(&terminate_with_farewell);
    s.terminate_handler_installed = true;
  }
  return Status::ok();
}

void shutdown_runtime(std::string reason) {
  GlobalState& s = state();
  MutexLock lock(&s.mu);
  if (s.phase != Phase::Running)
    return;
  s.runtime->shutdown(std::move(reason));
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
