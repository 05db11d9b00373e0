// The process-wide runtime slot behind the public API: which Runtime is live, and whether
// this process may still start one. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "horovod_cpp/handle_table.h"
#include "horovod_cpp/runtime.h"

namespace hvd {

// The live runtime, or an error that names `caller` and says whether init() has not run yet
// or shutdown() already has. Callers keep the shared_ptr for the duration of one call.
StatusOr<std::shared_ptr<Runtime>> current_runtime(const char* caller);

// Outlives every runtime, so that synchronize() after shutdown() still reports the op's error.
HandleTable& global_handles();

Status initialize_runtime();
// Every rank's pending and later ops fail with "rank R shut down: <reason>".
void shutdown_runtime(std::string reason = "hvd::shutdown() was called");
bool runtime_is_live();

}  // namespace hvd
