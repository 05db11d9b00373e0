// The collectives negotiation needs: gather and broadcast of opaque bytes, and a bitwise AND
// of a bit vector (the response cache's round). MPI implements it in
// collectives/; unit tests implement it with threads. Thread: background only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "horovod_cpp/status.h"

namespace hvd {

class ControlChannel {
 public:
  virtual ~ControlChannel() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Collective. On rank 0, `all` receives every rank's bytes in rank order; elsewhere it is
  // left empty.
  virtual Status gather(const std::string& mine, std::vector<std::string>* all) = 0;
  // Collective. Rank 0's `bytes` replace everyone else's.
  virtual Status broadcast(std::string* bytes) = 0;
  // Collective. Every rank's `words` become the bitwise AND of all ranks' (same length).
  virtual Status allreduce_and(std::vector<std::uint64_t>* words) = 0;
};

}  // namespace hvd
