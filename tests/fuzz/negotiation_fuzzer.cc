// libFuzzer target: a non-coordinator rank's negotiation rounds with the response cache on,
// where everything that comes back from the other ranks (the ANDed bit vector, rank 0's
// broadcast response list) is attacker-chosen. The controller must answer each round with a
// response list or an error, never undefined behaviour (ASan/UBSan watch), and keep its cache
// consistent (checked by its own invariants under the sanitizers).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "horovod_cpp/control_channel.h"
#include "horovod_cpp/controller.h"
#include "horovod_cpp/logging.h"

namespace {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return offset_ >= size_; }
  std::uint8_t byte() { return empty() ? 0 : data_[offset_++]; }
  std::string bytes(std::size_t n) {
    n = std::min(n, size_ - std::min(offset_, size_));
    std::string out(reinterpret_cast<const char*>(data_) + offset_, n);
    offset_ += n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
};

// Rank 1 of 2: what it sends goes nowhere; what it receives comes from the fuzz input.
class ScriptedChannel : public hvd::ControlChannel {
 public:
  explicit ScriptedChannel(FuzzInput* input) : input_(input) {}
  int rank() const override { return 1; }
  int size() const override { return 2; }
  hvd::Status gather(const std::string&, std::vector<std::string>* all) override {
    all->clear();
    return hvd::Status::ok();
  }
  hvd::Status broadcast(std::string* bytes) override {
    const std::size_t length = input_->byte() | (std::size_t{input_->byte()} << 8);
    *bytes = input_->bytes(length);
    return hvd::Status::ok();
  }
  hvd::Status allreduce_and(std::vector<std::uint64_t>* words) override {
    for (std::uint64_t& word : *words) {
      std::uint64_t theirs = 0;
      const std::string raw = input_->bytes(sizeof(theirs));
      std::memcpy(&theirs, raw.data(), raw.size());
      word &= theirs;
    }
    return hvd::Status::ok();
  }

 private:
  FuzzInput* input_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hvd::set_log_level(hvd::LogLevel::Error);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput input(data, size);
  ScriptedChannel channel(&input);
  hvd::ControllerOptions options;
  options.fusion_threshold_bytes = 1 << 16;
  options.cache_capacity = 1 + input.byte() % 70;  // one or two words of bits
  options.hit_hold_limit = std::chrono::milliseconds(input.byte() % 2);
  hvd::Controller controller(&channel, options);
  const char* names[] = {"a", "b", "c", "d"};
  bool in_flight[4] = {};  // as the tensor queue guarantees, a name is never sent twice at once
  for (int round = 0; round < 32 && !input.empty(); ++round) {
    const std::uint8_t which = input.byte();
    hvd::RequestList mine;
    mine.shutdown = (which & 0x80) != 0;
    for (int t = 0; t < 4; ++t) {
      if (!(which & (1 << t)) || in_flight[t])
        continue;
      in_flight[t] = true;
      hvd::Request request;
      request.rank = 1;
      request.name = names[t];
      request.shape = {1 + ((which >> 4) & 3)};  // shapes change: cached entries go stale
      request.op = (which & 0x40) && t == 3 ? hvd::OpType::Allgather : hvd::OpType::Allreduce;
      mine.requests.push_back(request);
    }
    auto answered = controller.negotiate(mine);
    if (!answered.is_ok())
      return 0;  // the runtime stops at the first failed round
    for (const hvd::Response& response : answered.value().responses) {
      for (const std::string& name : response.names) {
        for (int t = 0; t < 4; ++t)
          in_flight[t] = in_flight[t] && name != names[t];
      }
    }
  }
  return 0;
}
