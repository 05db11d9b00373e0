#include "horovod_cpp/operations.h"

#include "horovod_cpp/global_state.h"

namespace hvd {

StatusOr<Handle> enqueue_entry(TensorTableEntry entry, const char* caller) {
  HVD_ASSIGN_OR_RETURN(std::shared_ptr<Runtime> runtime, current_runtime(caller));
  if (entry.name.empty())
    entry.name = runtime->auto_name(entry.op);
  return runtime->enqueue(std::move(entry));
}

StatusOr<std::vector<Handle>> enqueue_group(std::vector<TensorTableEntry> entries,
                                            std::string group, const char* caller) {
  HVD_ASSIGN_OR_RETURN(std::shared_ptr<Runtime> runtime, current_runtime(caller));
  if (group.empty())
    group = runtime->auto_group_name();
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].name = group + "[" + std::to_string(i) + "]";
    entries[i].group = group;
    entries[i].group_size = static_cast<int>(entries.size());
    entries[i].group_index = static_cast<int>(i);
  }
  return runtime->enqueue_all(std::move(entries));
}

StatusOr<bool> poll_handle(Handle handle) {
  return global_handles().poll(handle);
}

Status wait_handle(Handle handle, const std::string& what) {
  return global_handles().wait(handle, what);
}

StatusOr<int> runtime_size(const char* caller) {
  HVD_ASSIGN_OR_RETURN(std::shared_ptr<Runtime> runtime, current_runtime(caller));
  return runtime->topology().size;
}

StatusOr<bool> device_plane_enabled(const char* caller) {
  HVD_ASSIGN_OR_RETURN(std::shared_ptr<Runtime> runtime, current_runtime(caller));
  return runtime->device_plane_enabled();
}

}  // namespace hvd
