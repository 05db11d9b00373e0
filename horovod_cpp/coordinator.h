// Rank 0's half of negotiation: remembers which ranks have submitted which tensor names
// across cycles, and when a name is complete on every rank turns it into a response.
// Thread: background only (of rank 0).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "horovod_cpp/message.h"

namespace hvd {

class Coordinator {
 public:
  Coordinator(int size, std::int64_t fusion_threshold_bytes);

  // `per_rank[r]` is what rank r sent this cycle. Returns the fused, ordered response list
  // every rank will run. Names become ready in the order of (rank, position) of the request
  // that completed them, so the order is deterministic.
  ResponseList compute(const std::vector<RequestList>& per_rank);

  // Names submitted by some ranks but not all.
  std::size_t pending_count() const { return pending_.size(); }

 private:
  struct PendingTensor {
    std::vector<Request> by_rank;  // indexed by rank; meaningful where submitted[r]
    std::vector<bool> submitted;
    int count = 0;
  };

  const int size_;
  const std::int64_t fusion_threshold_bytes_;
  std::unordered_map<std::string, PendingTensor> pending_;
};

}  // namespace hvd
