#include "horovod_cpp/coordinator.h"

#include "horovod_cpp/fusion_planner.h"
#include "horovod_cpp/response_builder.h"

namespace hvd {

Coordinator::Coordinator(int size, std::int64_t fusion_threshold_bytes)
    : size_(size), fusion_threshold_bytes_(fusion_threshold_bytes) {}

ResponseList Coordinator::compute(const std::vector<RequestList>& per_rank) {
  ResponseList out;
  std::vector<Response> ready;
  for (int rank = 0; rank < static_cast<int>(per_rank.size()); ++rank) {
    if (per_rank[rank].shutdown)
      out.shutdown_ranks.push_back(rank);
    if (!per_rank[rank].requests.empty())
      out.progress = true;
    for (const Request& request : per_rank[rank].requests) {
      PendingTensor& pending = pending_[request.name];
      if (pending.submitted.empty()) {
        pending.by_rank.resize(size_);
        pending.submitted.assign(size_, false);
      }
      if (pending.submitted[rank]) {
        // The tensor queue refuses a second in-flight use of a name, so this is a protocol
        // violation; fail the name everywhere rather than guess.
        Response error;
        error.type = ResponseType::Error;
        error.names = {request.name};
        error.error_message = std::string(op_type_name(request.op)) + " '" + request.name +
                              "': rank " + std::to_string(rank) +
                              " submitted it twice before it completed";
        ready.push_back(std::move(error));
        pending_.erase(request.name);
        continue;
      }
      Request& slot = pending.by_rank[rank];
      slot = request;
      slot.rank = rank;  // trust the sender's position, not its claim
      pending.submitted[rank] = true;
      if (++pending.count == size_) {
        ready.push_back(build_response(pending.by_rank));
        pending_.erase(request.name);
      }
    }
  }
  if (!ready.empty())
    out.progress = true;
  out.responses = plan_fusion(std::move(ready), fusion_threshold_bytes_);
  return out;
}

}  // namespace hvd
