// The response cache: every rank keeps an identical table of allreduce requests that
// negotiated successfully before, each under a bit position. In the steady state of a
// training loop every tensor is a hit, and a negotiation round is one small bitwise-AND
// allreduce of "which bits are ready here" instead of a gather to rank 0 and a broadcast
// (see controller.h for the round).
//
// Identical on every rank because every change is driven by what all ranks see alike: inserts
// from the broadcast response list (in its order), touches from bits that were ready
// everywhere, erasures from bits some rank invalidated (OR of all ranks). Eviction is least
// recently used. Each rank stores its own request; equal requests on every rank were
// validated against each other when inserted, so a hit on every rank needs no new checks.
// Thread: background only.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "horovod_cpp/message.h"

namespace hvd {

class ResponseCache {
 public:
  explicit ResponseCache(int capacity);  // capacity >= 1

  enum class Lookup { Miss, Hit, Changed };
  // Hit: `request` equals the cached one under its name. Changed: the name is cached with
  // other parameters (shape, dtype, ...). *bit is set for Hit and Changed.
  Lookup lookup(const Request& request, int* bit) const;

  // Caches `request` (not yet cached) as most recently used; returns the bit it took and, if
  // the cache was full, the bit evicted to make room (the same bit number, reused).
  int insert(const Request& request, std::optional<int>* evicted);
  void touch(int bit);  // most recently used now
  void erase(int bit);

  bool contains(int bit) const { return bit >= 0 && bit < capacity_ && entries_[bit]; }
  // The single-tensor response every rank runs for a bit that is ready everywhere.
  // REQUIRES: contains(bit).
  Response response_for(int bit) const;

  // Only plain allreduces are cached: groups must stay whole, and other ops' shapes vary.
  static bool cacheable(const Request& request);

  int capacity() const { return capacity_; }
  int size() const { return static_cast<int>(by_name_.size()); }

 private:
  struct Entry {
    Request request;
    std::list<int>::iterator lru_position;
  };
  const int capacity_;
  std::vector<std::optional<Entry>> entries_;  // by bit
  std::unordered_map<std::string, int> by_name_;
  std::list<int> lru_;     // front: most recently used
  std::vector<int> free_;  // unused bits; the last is taken next
};

}  // namespace hvd
