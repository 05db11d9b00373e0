#include "horovod_cpp/device_plane.h"

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
