// Turns every rank's request for one tensor into the response all ranks run, or into an
// Error response that says exactly which ranks disagree and how.
#pragma once

#include <vector>

#include "horovod_cpp/message.h"

namespace hvd {

// `submitted` holds one request per rank that submitted the name (each with its rank, in rank
// order); every other rank of the `size` has joined (hvd::join) and is listed in `joined`.
// Only allreduce runs while ranks are joined: they contribute zeros.
Response build_response(const std::vector<Request>& submitted, int size,
                        const std::vector<int>& joined);
// Every rank submitted: `by_rank[r]` is rank r's request.
inline Response build_response(const std::vector<Request>& by_rank) {
  return build_response(by_rank, static_cast<int>(by_rank.size()), {});
}

}  // namespace hvd
