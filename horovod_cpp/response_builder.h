// Turns every rank's request for one tensor into the response all ranks run, or into an
// Error response that says exactly which ranks disagree and how.
#pragma once

#include <vector>

#include "horovod_cpp/message.h"

namespace hvd {

// `by_rank[r]` is rank r's request; all have the same name.
Response build_response(const std::vector<Request>& by_rank);

}  // namespace hvd
