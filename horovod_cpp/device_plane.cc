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
