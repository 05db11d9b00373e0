// Packs compatible allreduce responses into fused responses so that many small tensors
// travel in one collective call.
#pragma once

#include <cstdint>
#include <vector>

#include "horovod_cpp/message.h"

namespace hvd {

// Greedy and deterministic: each unfused allreduce response starts a group and pulls in every
// later compatible one (same dtype, device, reduce op and scales) while the group's bytes stay
// within `threshold_bytes`. Group order follows each group's first response; other response
// types pass through in place. A threshold of 0 disables fusion.
std::vector<Response> plan_fusion(std::vector<Response> responses, std::int64_t threshold_bytes);

}  // namespace hvd
