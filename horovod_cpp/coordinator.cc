#include "horovod_cpp/coordinator.h"

#include <algorithm>

#include "horovod_cpp/fusion_planner.h"
#include "horovod_cpp/logging.h"
#include "horovod_cpp/response_builder.h"

namespace hvd {
namespace {

Response error_for(const std::string& name, const std::string& message) {
  Response error;
  error.type = ResponseType::Error;
  error.names = {name};
  error.error_message = message;
  return error;
}

}  // namespace

Coordinator::Coordinator(int size, std::int64_t fusion_threshold_bytes, StallSettings stall)
    : size_(size),
      fusion_threshold_bytes_(fusion_threshold_bytes),
      joined_(size, false),
      stall_inspector_(stall) {}

ResponseList Coordinator::compute(const std::vector<RequestList>& per_rank) {
  return compute(per_rank, std::chrono::steady_clock::now());
}

ResponseList Coordinator::compute(const std::vector<RequestList>& per_rank,
                                  std::chrono::steady_clock::time_point now) {
  ResponseList out;
  std::vector<Response> ready;
  bool someone_joined = false;
  for (int rank = 0; rank < static_cast<int>(per_rank.size()); ++rank) {
    if (per_rank[rank].shutdown) {
      out.shutdown_ranks.push_back(rank);
      out.shutdown_reasons.push_back(per_rank[rank].shutdown_reason);
    }
    if (!per_rank[rank].requests.empty())
      out.progress = true;
    for (const Request& request : per_rank[rank].requests) {
      if (request.op == OpType::Join) {
        join(rank);
        someone_joined = true;
      } else {
        accept(rank, request, now, &ready);
      }
    }
  }
  if (someone_joined) {
    // Names that waited only for the ranks that just joined are complete now.
    std::vector<std::pair<std::uint64_t, std::string>> now_complete;
    for (const auto& [name, pending] : pending_) {
      if (complete(pending))
        now_complete.emplace_back(pending.arrival, name);
    }
    std::sort(now_complete.begin(), now_complete.end());
    for (const auto& entry : now_complete)
      release(entry.second, &ready);
  }
  // Failing a group waits for the end of the cycle: a member completes only once every rank
  // has sent its whole group (groups are queued atomically), so by now every member that will
  // ever arrive has, and none is left behind to wait forever.
  for (const auto& [group, cause] : failed_groups_)
    fail_group(group, cause, &ready);
  failed_groups_.clear();
  out.cacheable = joined_count_ == 0 && !someone_joined;
  if (joined_count_ == size_) {
    Response done;
    done.type = ResponseType::Join;
    done.names = {kJoinName};
    done.element_counts = {1};
    done.root_rank = last_joined_rank_;
    ready.push_back(std::move(done));
    joined_.assign(size_, false);
    joined_count_ = 0;
    last_joined_rank_ = -1;
  }
  if (!ready.empty())
    out.progress = true;
  out.responses = plan_fusion(std::move(ready), fusion_threshold_bytes_);
  if (!pending_.empty()) {
    StallVerdict verdict = stall_inspector_.inspect(waiting_ops(), now);
    if (!verdict.report.empty()) {
      log_message(LogLevel::Warning, verdict.report);
      last_stall_report_ = std::move(verdict.report);
    }
    out.abort_reason = std::move(verdict.abort_reason);
  }
  return out;
}

std::vector<WaitingOp> Coordinator::waiting_ops() const {
  std::vector<std::pair<std::uint64_t, WaitingOp>> ordered;
  for (const auto& [name, pending] : pending_) {
    WaitingOp op;
    op.since = pending.since;
    for (int r = 0; r < size_; ++r) {
      if (pending.submitted[r] && op.description.empty())
        op.description = std::string(op_type_name(pending.by_rank[r].op)) + " '" + name + "'";
      if (!pending.submitted[r] && !joined_[r])
        op.missing.push_back(r);
    }
    ordered.emplace_back(pending.arrival, std::move(op));
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<WaitingOp> out;
  out.reserve(ordered.size());
  for (auto& entry : ordered)
    out.push_back(std::move(entry.second));
  return out;
}

void Coordinator::accept(int rank, const Request& request,
                         std::chrono::steady_clock::time_point now, std::vector<Response>* ready) {
  PendingTensor& pending = pending_[request.name];
  if (pending.submitted.empty()) {
    pending.by_rank.resize(size_);
    pending.submitted.assign(size_, false);
    pending.arrival = next_arrival_++;
    pending.since = now;
  }
  if (pending.submitted[rank]) {
    // The tensor queue refuses a second in-flight use of a name, so this is a protocol
    // violation; fail the name everywhere rather than guess.
    ready->push_back(error_for(request.name, std::string(op_type_name(request.op)) + " '" +
                                                 request.name + "': rank " + std::to_string(rank) +
                                                 " submitted it twice before it completed"));
    pending_.erase(request.name);
    return;
  }
  Request& slot = pending.by_rank[rank];
  slot = request;
  slot.rank = rank;  // trust the sender's position, not its claim
  pending.submitted[rank] = true;
  if (complete(pending))
    release(request.name, ready);
}

void Coordinator::join(int rank) {
  if (joined_[rank])
    return;  // the queue allows one join in flight per rank; a repeat changes nothing
  joined_[rank] = true;
  ++joined_count_;
  last_joined_rank_ = rank;
}

bool Coordinator::complete(const PendingTensor& pending) const {
  for (int r = 0; r < size_; ++r) {
    if (!pending.submitted[r] && !joined_[r])
      return false;
  }
  return true;
}

void Coordinator::release(const std::string& name, std::vector<Response>* ready) {
  auto it = pending_.find(name);
  std::vector<Request> submitted;
  std::vector<int> joined;
  for (int r = 0; r < size_; ++r) {
    if (it->second.submitted[r])
      submitted.push_back(std::move(it->second.by_rank[r]));
    else
      joined.push_back(r);
  }
  pending_.erase(it);
  Response response = build_response(submitted, size_, joined);
  if (response.type != ResponseType::Error) {
    if (submitted.front().group_size > 0)
      hold_group_member(submitted.front(), std::move(response), ready);
    else
      ready->push_back(std::move(response));
    return;
  }
  // Ranks may even disagree on whether this is a group member: fail every group named.
  std::vector<std::string> groups;
  for (const Request& r : submitted) {
    if (r.group_size > 0 && std::find(groups.begin(), groups.end(), r.group) == groups.end())
      groups.push_back(r.group);
  }
  for (const std::string& group : groups)
    failed_groups_.emplace_back(group, response.error_message);
  ready->push_back(std::move(response));
}

void Coordinator::hold_group_member(const Request& request, Response response,
                                    std::vector<Response>* ready) {
  HeldGroup& group = groups_[request.group];
  if (group.members.empty())
    group.size = request.group_size;
  if (request.group_size != group.size || group.members.count(request.group_index) > 0) {
    // The API queues each group whole under one size, and ranks' members were checked against
    // each other before being held: only a corrupted message gets here.
    const std::string message =
        "grouped_allreduce '" + request.group + "': member " + std::to_string(request.group_index) +
        " of " + std::to_string(request.group_size) +
        " conflicts with the members held (group of " + std::to_string(group.size) + ")";
    ready->push_back(error_for(request.name, message));
    failed_groups_.emplace_back(request.group, message);
    return;
  }
  group.members.emplace(request.group_index, std::move(response));
  if (static_cast<std::int32_t>(group.members.size()) < group.size)
    return;
  for (auto& [index, member] : group.members)
    ready->push_back(std::move(member));
  groups_.erase(request.group);
}

// One member failed: the group cannot run as a unit, so every other member fails now too,
// held or still pending, with the cause in its message.
void Coordinator::fail_group(const std::string& group, const std::string& cause,
                             std::vector<Response>* ready) {
  const std::string message =
      "grouped_allreduce '" + group + "' did not run because a member failed: " + cause;
  auto held = groups_.find(group);
  if (held != groups_.end()) {
    for (const auto& [index, member] : held->second.members)
      ready->push_back(error_for(member.names.front(), message));
    groups_.erase(held);
  }
  std::vector<std::pair<std::uint64_t, std::string>> still_pending;
  for (const auto& [name, pending] : pending_) {
    for (int r = 0; r < size_; ++r) {
      if (pending.submitted[r] && pending.by_rank[r].group == group) {
        still_pending.emplace_back(pending.arrival, name);
        break;
      }
    }
  }
  std::sort(still_pending.begin(), still_pending.end());
  for (const auto& entry : still_pending) {
    ready->push_back(error_for(entry.second, message));
    pending_.erase(entry.second);
  }
}

}  // namespace hvd
