#include "horovod_cpp/tensor_queue.h"

#include <algorithm>

namespace hvd {

Status TensorQueue::push(TensorTableEntry entry, Request request) {
  std::vector<TensorTableEntry> entries;
  entries.push_back(std::move(entry));
  std::vector<Request> requests;
  requests.push_back(std::move(request));
  return push_all(std::move(entries), std::move(requests));
}

Status TensorQueue::push_all(std::vector<TensorTableEntry> entries, std::vector<Request> requests,
                             const std::function<Status()>& admit) {
  MutexLock lock(&mu_);
  if (closed_reason_)
    return *closed_reason_;
  for (size_t i = 0; i < entries.size(); ++i) {
    const TensorTableEntry& entry = entries[i];
    bool repeated = in_flight_.count(entry.name) > 0;
    for (size_t j = 0; j < i && !repeated; ++j)
      repeated = entries[j].name == entry.name;
    if (repeated) {
      return Status::error(std::string(op_type_name(entry.op)) + " '" + entry.name +
                           "': a tensor with this name is already in flight on this rank; "
                           "synchronize it first or use another name");
    }
  }
  if (admit)
    HVD_RETURN_IF_ERROR(admit());
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string name = entries[i].name;
    in_flight_.emplace(std::move(name), std::move(entries[i]));
    new_requests_.push_back(std::move(requests[i]));
  }
  work_cv_.signal();
  return Status::ok();
}

std::vector<Request> TensorQueue::drain_requests() {
  MutexLock lock(&mu_);
  std::vector<Request> out;
  out.swap(new_requests_);
  return out;
}

std::optional<TensorTableEntry> TensorQueue::take(const std::string& name) {
  MutexLock lock(&mu_);
  auto it = in_flight_.find(name);
  if (it == in_flight_.end())
    return std::nullopt;
  TensorTableEntry entry = std::move(it->second);
  in_flight_.erase(it);
  return entry;
}

void TensorQueue::wait_for_work(std::chrono::microseconds timeout, std::chrono::microseconds spin) {
  MutexLock lock(&mu_);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  mu_.poll_until(start + std::min(spin, timeout),
                 [this]() HVD_REQUIRES(mu_) { return !new_requests_.empty() || wake_requested_; });
  while (new_requests_.empty() && !wake_requested_) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      break;
    work_cv_.wait_for(deadline - now);
  }
  wake_requested_ = false;
}

void TensorQueue::wake() {
  MutexLock lock(&mu_);
  wake_requested_ = true;
  work_cv_.signal();
}

void TensorQueue::try_wake() {
  if (!mu_.try_lock())
    return;
  wake_requested_ = true;
  work_cv_.signal();
  mu_.unlock();
}

std::vector<TensorTableEntry> TensorQueue::close(const Status& reason) {
  MutexLock lock(&mu_);
  if (!closed_reason_)
    closed_reason_ = reason;
  std::vector<TensorTableEntry> out;
  out.reserve(in_flight_.size());
  for (auto& [name, entry] : in_flight_)
    out.push_back(std::move(entry));
  in_flight_.clear();
  new_requests_.clear();
  return out;
}

std::size_t TensorQueue::in_flight() const {
  MutexLock lock(&mu_);
  return in_flight_.size();
}

}  // namespace hvd
