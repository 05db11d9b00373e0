#include "collectives/bounded_call.h"

#include <memory>
#include <system_error>
#include <thread>
#include <utility>

#include "horovod_cpp/mutex.h"

namespace hvd {
namespace {

// Shared by the caller and the calling thread: whichever leaves last frees it.
struct CallState {
  Mutex mu;
  CondVar returned_cv{&mu};
  bool returned HVD_GUARDED_BY(mu) = false;
};

}  // namespace

bool call_within(std::function<void()> call, std::chrono::milliseconds limit) {
  auto state = std::make_shared<CallState>();
  auto work = std::make_shared<std::function<void()>>(std::move(call));
  std::thread caller;
  try {
    caller = std::thread([state, work] {
      (*work)();
      MutexLock lock(&state->mu);
      state->returned = true;
      state->returned_cv.signal();
    });
  } catch (const std::system_error&) {
    (*work)();  // no thread to be had: unbounded, as a plain call would be
    return true;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool returned = false;
  {
    MutexLock lock(&state->mu);
    while (!state->returned) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline)
        break;
      state->returned_cv.wait_for(deadline - now);
    }
    returned = state->returned;
  }
  if (returned)
    caller.join();
  else
    caller.detach();
  return returned;
}

}  // namespace hvd
