#include "horovod_cpp/tensor_queue.h"

namespace hvd {

Status TensorQueue::push(TensorTableEntry entry, Request request) {
  MutexLock lock(&mu_);
  if (closed_reason_)
    return *closed_reason_;
  if (in_flight_.count(entry.name) > 0) {
    return Status::error(std::string(op_type_name(entry.op)) + " '" + entry.name +
                         "': a tensor with this name is already in flight on this rank; "
                         "synchronize it first or use another name");
  }
  std::string name = entry.name;
  in_flight_.emplace(std::move(name), std::move(entry));
  new_requests_.push_back(std::move(request));
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

void TensorQueue::wait_for_work(std::chrono::microseconds timeout) {
  MutexLock lock(&mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
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
