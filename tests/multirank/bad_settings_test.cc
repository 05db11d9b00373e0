// A malformed HOROVOD_* value must fail hvd::init() on EVERY rank (never leave the good ranks
// waiting), naming the variable and value where it is bad and the bad ranks elsewhere.
// With BAD_SETTINGS_RANK=k only rank k gets the bad value; otherwise the environment the test
// was launched with applies to all.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "horovod_cpp/horovod.h"

int main() {
  const char* world_rank = std::getenv("OMPI_COMM_WORLD_RANK");
  const char* bad_rank = std::getenv("BAD_SETTINGS_RANK");
  const int rank = world_rank ? std::atoi(world_rank) : 0;
  const bool bad_here = bad_rank == nullptr || std::atoi(bad_rank) == rank;
  if (bad_rank != nullptr && bad_here)
    setenv("HOROVOD_FUSION_THRESHOLD", "abc", 1);
  try {
    hvd::init();
  } catch (const hvd::Error& e) {
    const std::string message = e.what();
    const std::string want =
        bad_here ? "HOROVOD_FUSION_THRESHOLD=" : "on rank " + std::string(bad_rank);
    const bool ok = message.find(want) != std::string::npos;
    std::printf("bad_settings rank %d: %s: %s\n", rank, ok ? "ok" : "WRONG MESSAGE",
                message.c_str());
    return ok ? 0 : 1;
  }
  std::printf("bad_settings rank %d: init() did not fail\n", rank);
  hvd::shutdown();
  return 1;
}
