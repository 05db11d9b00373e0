#include "horovod_cpp/allocator_tuning.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hvd {
namespace {
constexpr int kMmapThresholdBytes = 32 << 20;  // glibc's own maximum for the dynamic value
constexpr int kTrimThresholdBytes = 1 << 30;
}  // namespace

std::string tune_process_allocator() {
#if defined(__GLIBC__)
  const bool ok = mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes) == 1 &&
                  mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes) == 1;
  return ok ? "glibc malloc: mmap threshold 32 MiB, trim threshold 1 GiB"
            : "glibc malloc: mallopt refused the thresholds; left as they were";
#else
  return "not glibc: allocator left as it is";
#endif
}

}  // namespace hvd
