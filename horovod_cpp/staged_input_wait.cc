#include "horovod_cpp/staged_input_wait.h"

#include <thread>

#include "horovod_cpp/device_plane.h"

namespace hvd {
namespace {

bool waits_here(const TensorTableEntry& entry) {
  return !entry.on_device && entry.ready != nullptr;
}

std::string names_of(const std::vector<const TensorTableEntry*>& entries) {
  constexpr size_t kMostNamed = 4;
  std::string names;
  for (size_t i = 0; i < entries.size() && i < kMostNamed; ++i)
    names += (i == 0 ? "'" : ", '") + entries[i]->name + "'";
  if (entries.size() > kMostNamed)
    names += " and " + std::to_string(entries.size() - kMostNamed) + " more";
  return names;
}

std::string seconds_text(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

bool has_staged_inputs(const std::vector<TensorTableEntry>& entries) {
  for (const TensorTableEntry& entry : entries) {
    if (waits_here(entry))
      return true;
  }
  return false;
}

Status wait_for_staged_inputs(const std::vector<TensorTableEntry>& entries,
                              const StagedInputBounds& bounds,
                              const std::function<void(const std::string&)>& warn) {
  std::vector<const TensorTableEntry*> pending;
  for (const TensorTableEntry& entry : entries) {
    if (waits_here(entry))
      pending.push_back(&entry);
  }
  const auto start = std::chrono::steady_clock::now();
  auto next_warning = start + bounds.warning_period;
  while (true) {
    std::vector<const TensorTableEntry*> still;
    for (const TensorTableEntry* entry : pending) {
      StatusOr<bool> happened = entry->ready->happened();
      if (!happened.is_ok()) {
        return happened.status().with_context("copying the input of '" + entry->name +
                                              "' out of GPU memory");
      }
      if (!happened.value())
        still.push_back(entry);
    }
    pending.swap(still);
    if (pending.empty())
      return Status::ok();
    const auto now = std::chrono::steady_clock::now();
    if (now - start >= bounds.limit) {
      return Status::error("the copy of " + names_of(pending) +
                           " out of GPU memory has not run after " + seconds_text(now - start) +
                           ": the GPU is stuck or busy with work queued before it");
    }
    if (bounds.warning_period.count() > 0 && now >= next_warning) {
      warn("still waiting after " + seconds_text(now - start) + " for the copy of " +
           names_of(pending) +
           " out of GPU memory (work queued before it on the GPU has not "
           "finished)");
      next_warning = now + bounds.warning_period;
    }
    std::this_thread::sleep_for(bounds.poll_period);
  }
}

}  // namespace hvd
