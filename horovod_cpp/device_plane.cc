#include "horovod_cpp/device_plane.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "horovod_cpp/mutex.h"

namespace hvd {
namespace {

struct FactorySlot {
  Mutex mu;
  DevicePlaneFactory factory HVD_GUARDED_BY(mu);
};
FactorySlot& slot() {
  static FactorySlot instance;
  return instance;
}

}  // namespace

bool writes_overlap(const std::vector<DeviceCopy>& copies, std::int64_t element_bytes) {
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> written;  // [begin, end)
  written.reserve(copies.size());
  for (const DeviceCopy& copy : copies) {
    if (copy.count == 0)
      continue;
    const auto begin = reinterpret_cast<std::uintptr_t>(copy.dst);
    written.emplace_back(begin, begin + static_cast<std::uintptr_t>(copy.count * element_bytes));
  }
  // Sorted by where they begin, any overlap shows between neighbours.
  std::sort(written.begin(), written.end());
  for (size_t i = 1; i < written.size(); ++i) {
    if (written[i].first < written[i - 1].second)
      return true;
  }
  return false;
}

Status check_on_plane(const DevicePlane& plane, bool on_device, int device,
                      const std::string& what) {
  if (on_device && device == plane.device())
    return Status::ok();
  return Status::error("internal: " + what + " is not in the memory of device " +
                       std::to_string(plane.device()) + ", which runs this rank's GPU data plane");
}

void set_device_plane_factory(DevicePlaneFactory factory_to_use) {
  FactorySlot& s = slot();
  MutexLock lock(&s.mu);
  s.factory = std::move(factory_to_use);
}

DevicePlaneFactory device_plane_factory() {
  FactorySlot& s = slot();
  MutexLock lock(&s.mu);
  return s.factory;
}

}  // namespace hvd
