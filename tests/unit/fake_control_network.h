// ControlChannel for unit tests: ranks are threads of one process exchanging bytes through
// shared memory (like gloo's BaseTest::spawn). Thread-safe.
#pragma once

#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "horovod_cpp/control_channel.h"

namespace hvd {

class FakeControlNetwork {
 public:
  explicit FakeControlNetwork(int size) : size_(size), next_round_(size, 0) {}

  // Every rank contributes bytes; every rank gets all of them in rank order.
  std::vector<std::string> exchange(int rank, const std::string& mine) {
    std::unique_lock<std::mutex> lock(mu_);
    const int round = next_round_[rank]++;
    Round& r = rounds_[round];
    if (r.bytes.empty())
      r.bytes.resize(size_);
    r.bytes[rank] = mine;
    if (++r.arrived == size_)
      cv_.notify_all();
    cv_.wait(lock, [&] { return rounds_[round].arrived == size_; });
    std::vector<std::string> all = rounds_[round].bytes;
    if (++rounds_[round].departed == size_)
      rounds_.erase(round);
    return all;
  }

  int size() const { return size_; }

 private:
  struct Round {
    std::vector<std::string> bytes;
    int arrived = 0;
    int departed = 0;
  };
  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> next_round_;
  std::map<int, Round> rounds_;
};

class FakeControlChannel : public ControlChannel {
 public:
  FakeControlChannel(FakeControlNetwork* network, int rank) : network_(network), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return network_->size(); }
  Status gather(const std::string& mine, std::vector<std::string>* all) override {
    auto everything = network_->exchange(rank_, mine);
    ++gather_rounds;
    all->clear();
    if (rank_ == 0)
      *all = std::move(everything);
    return Status::ok();
  }
  Status broadcast(std::string* bytes) override {
    *bytes = network_->exchange(rank_, *bytes)[0];
    return Status::ok();
  }
  Status allreduce_and(std::vector<std::uint64_t>* words) override {
    std::string mine(reinterpret_cast<const char*>(words->data()), words->size() * 8);
    for (const std::string& theirs : network_->exchange(rank_, mine)) {
      for (size_t i = 0; i < words->size(); ++i) {
        std::uint64_t word;
        std::memcpy(&word, theirs.data() + 8 * i, 8);
        (*words)[i] &= word;
      }
    }
    ++and_rounds;
    return Status::ok();
  }
  int and_rounds = 0;     // for tests: how many bit-vector rounds this rank ran
  int gather_rounds = 0;  // and how many went through the coordinator

 private:
  FakeControlNetwork* network_;
  int rank_;
};

// Runs body(rank) on `size` threads and joins them.
template <class Body>
void run_ranks(int size, Body body) {
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r)
    threads.emplace_back(body, r);
  for (auto& t : threads)
    t.join();
}

}  // namespace hvd
