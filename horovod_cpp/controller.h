// One round of the negotiation protocol, identical on every rank:
//
//   1. Every rank serializes the requests that became ready locally since the last round
//      (plus its shutdown flag) and gathers them to rank 0.
//   2. Rank 0 feeds them to its Coordinator, which matches names across ranks, validates
//      complete ones and fuses compatible responses.
//   3. Rank 0 broadcasts the resulting ResponseList; every rank then executes exactly that
//      list, in order, so collective calls match everywhere.
//
// Requests are sent once; rank 0 remembers incomplete names across rounds. Thread:
// background only.
#pragma once

#include <memory>

#include "horovod_cpp/control_channel.h"
#include "horovod_cpp/coordinator.h"
#include "horovod_cpp/message.h"

namespace hvd {

class Controller {
 public:
  // `channel` is owned by the caller and outlives the controller.
  Controller(ControlChannel* channel, std::int64_t fusion_threshold_bytes,
             StallSettings stall = {});

  StatusOr<ResponseList> negotiate(const RequestList& mine);

  // Rank 0 only; 0 elsewhere.
  std::size_t pending_on_coordinator() const;

 private:
  ControlChannel* const channel_;
  std::unique_ptr<Coordinator> coordinator_;  // rank 0 only
};

}  // namespace hvd
