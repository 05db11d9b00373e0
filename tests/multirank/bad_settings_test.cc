// A malformed HOROVOD_* value must fail hvd::init() on EVERY rank (never leave the good ranks
// waiting), naming the variable and value where it is bad and the bad ranks elsewhere.
// With BAD_SETTINGS_RANK=k only rank k gets the bad value; otherwise the environment the test
// was launched with applies to all. With BAD_TIMELINE=1 every rank gets a HOROVOD_TIMELINE
// path nobody can write, which only rank 0 (the one that records) finds out. With
// MISMATCHED_FUSION=1 every value is valid but rank 1's fusion threshold differs from the
// others', which every rank must refuse, naming the setting and who has which value.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "horovod_cpp/horovod.h"

int main() {
  const char* world_rank = std::getenv("OMPI_COMM_WORLD_RANK");
  const bool bad_timeline = std::getenv("BAD_TIMELINE") != nullptr;
  const bool mismatched = std::getenv("MISMATCHED_FUSION") != nullptr;
  const char* bad_rank = bad_timeline ? "0" : std::getenv("BAD_SETTINGS_RANK");
  const int rank = world_rank ? std::atoi(world_rank) : 0;
  const bool bad_here = !mismatched && (bad_rank == nullptr || std::atoi(bad_rank) == rank);
  if (mismatched && rank == 1)
    setenv("HOROVOD_FUSION_THRESHOLD", "1048576", 1);
  if (bad_timeline)
    setenv("HOROVOD_TIMELINE", "/nonexistent-dir/timeline.json", 1);
  else if (bad_rank != nullptr && bad_here)
    setenv("HOROVOD_FUSION_THRESHOLD", "abc", 1);
  try {
    hvd::init();
  } catch (const hvd::Error& e) {
    const std::string message = e.what();
    const char* world_size = std::getenv("OMPI_COMM_WORLD_SIZE");
    const std::string others =
        world_size && std::atoi(world_size) == 3 ? "ranks 0, 2 have" : "rank 0 has";
    const std::string want = mismatched ? "HOROVOD_FUSION_THRESHOLD differs between ranks: rank "
                                          "1 has 1048576; " +
                                              others + " 67108864"
                             : !bad_here    ? "on rank " + std::string(bad_rank)
                             : bad_timeline ? "HOROVOD_TIMELINE: cannot write the timeline file "
                                              "'/nonexistent-dir/timeline.json'"
                                            : "HOROVOD_FUSION_THRESHOLD=";
    const bool ok = message.find(want) != std::string::npos;
    std::printf("bad_settings rank %d: %s: %s\n", rank, ok ? "ok" : "WRONG MESSAGE",
                message.c_str());
    return ok ? 0 : 1;
  }
  std::printf("bad_settings rank %d: init() did not fail\n", rank);
  hvd::shutdown();
  return 1;
}
