// Rank 0's half of negotiation: remembers which ranks have submitted which tensor names
// across cycles, and when a name is complete on every rank turns it into a response.
//
// A name is complete when every rank has either submitted it or joined (hvd::join); joined
// ranks then contribute zeros. Members of a grouped_allreduce are held back until the whole
// group is complete, then released together, in member order, into the same cycle (so the
// fusion planner can fuse them and no group is split across cycles). When every rank has
// joined, a Join response carries the rank that joined last, and the join state resets.
// Thread: background only (of rank 0).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "horovod_cpp/message.h"
#include "horovod_cpp/stall_inspector.h"

namespace hvd {

class Coordinator {
 public:
  Coordinator(int size, std::int64_t fusion_threshold_bytes, StallSettings stall = {});
  void set_fusion_threshold(std::int64_t bytes) { fusion_threshold_bytes_ = bytes; }

  // `per_rank[r]` is what rank r sent this cycle. Returns the fused, ordered response list
  // every rank will run. Names become ready in the order of (rank, position) of the request
  // that completed them, then (after a join) in submission order, so the order is
  // deterministic.
  // The stall inspector runs at the end of each call (`now` lets tests move the clock): its
  // report is logged as a warning, and a stall shutdown sets abort_reason.
  ResponseList compute(const std::vector<RequestList>& per_rank);
  ResponseList compute(const std::vector<RequestList>& per_rank,
                       std::chrono::steady_clock::time_point now);
  // The last stall report logged; "" if none yet.
  const std::string& last_stall_report() const { return last_stall_report_; }

  // Names submitted by some ranks but not all.
  std::size_t pending_count() const { return pending_.size(); }

 private:
  struct PendingTensor {
    std::vector<Request> by_rank;  // indexed by rank; meaningful where submitted[r]
    std::vector<bool> submitted;
    std::uint64_t arrival = 0;                    // orders names completed by a join
    std::chrono::steady_clock::time_point since;  // first submission
  };
  // Members of one grouped_allreduce that are complete, by member index.
  struct HeldGroup {
    std::int32_t size = 0;
    // By member index. A map, not a vector of `size`: the size comes off the wire, and memory
    // should grow with the members that arrived, not with a number a message claims.
    std::map<std::int32_t, Response> members;
  };

  void accept(int rank, const Request& request, std::chrono::steady_clock::time_point now,
              std::vector<Response>* ready);
  std::vector<WaitingOp> waiting_ops() const;
  void join(int rank);
  bool complete(const PendingTensor& pending) const;
  // Builds the response for a complete name, and moves it (or its whole group) to `ready`.
  void release(const std::string& name, std::vector<Response>* ready);
  void hold_group_member(const Request& request, Response response, std::vector<Response>* ready);
  void fail_group(const std::string& group, const std::string& cause, std::vector<Response>* ready);

  const int size_;
  std::int64_t fusion_threshold_bytes_;
  std::unordered_map<std::string, PendingTensor> pending_;
  std::unordered_map<std::string, HeldGroup> groups_;
  std::vector<std::pair<std::string, std::string>> failed_groups_;  // this cycle: group, cause
  std::uint64_t next_arrival_ = 0;
  std::vector<bool> joined_;
  int joined_count_ = 0;
  int last_joined_rank_ = -1;
  StallInspector stall_inspector_;
  std::string last_stall_report_;
};

}  // namespace hvd
