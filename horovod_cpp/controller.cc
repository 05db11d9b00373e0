#include "horovod_cpp/controller.h"

namespace hvd {

Controller::Controller(ControlChannel* channel, std::int64_t fusion_threshold_bytes,
                       StallSettings stall)
    : channel_(channel) {
  if (channel_->rank() == 0) {
    coordinator_ = std::make_unique<Coordinator>(channel_->size(), fusion_threshold_bytes, stall);
  }
}

StatusOr<ResponseList> Controller::negotiate(const RequestList& mine) {
  std::vector<std::string> gathered;
  HVD_RETURN_IF_ERROR(
      channel_->gather(mine.serialize(), &gathered).with_context("negotiation gather"));
  std::string response_bytes;
  if (coordinator_) {
    std::vector<RequestList> per_rank;
    per_rank.reserve(gathered.size());
    for (size_t r = 0; r < gathered.size(); ++r) {
      auto parsed = RequestList::parse(gathered[r]);
      if (!parsed.is_ok()) {
        return parsed.status().with_context("request list from rank " + std::to_string(r));
      }
      per_rank.push_back(std::move(parsed).value());
    }
    response_bytes = coordinator_->compute(per_rank).serialize();
  }
  HVD_RETURN_IF_ERROR(channel_->broadcast(&response_bytes).with_context("negotiation broadcast"));
  auto responses = ResponseList::parse(response_bytes);
  if (!responses.is_ok())
    return responses.status().with_context("response list from rank 0");
  return responses;
}

std::size_t Controller::pending_on_coordinator() const {
  return coordinator_ ? coordinator_->pending_count() : 0;
}

}  // namespace hvd
