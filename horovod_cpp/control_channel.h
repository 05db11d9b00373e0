// The two collectives negotiation needs, over opaque bytes. MPI implements it in
// collectives/; unit tests implement it with threads. Thread: background only.
#pragma once

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
};

}  // namespace hvd
