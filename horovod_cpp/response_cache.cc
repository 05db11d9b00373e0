#include "horovod_cpp/response_cache.h"

namespace hvd {

ResponseCache::ResponseCache(int capacity) : capacity_(capacity), entries_(capacity) {
  for (int bit = capacity - 1; bit >= 0; --bit)
    free_.push_back(bit);
}

bool ResponseCache::cacheable(const Request& request) {
  return request.op == OpType::Allreduce && request.group_size == 0;
}

ResponseCache::Lookup ResponseCache::lookup(const Request& request, int* bit) const {
  auto it = by_name_.find(request.name);
  if (it == by_name_.end())
    return Lookup::Miss;
  *bit = it->second;
  Request mine = request;
  mine.rank = entries_[it->second]->request.rank;  // the sender's rank is not a parameter
  return mine == entries_[it->second]->request ? Lookup::Hit : Lookup::Changed;
}

int ResponseCache::insert(const Request& request, std::optional<int>* evicted) {
  evicted->reset();
  if (free_.empty()) {
    const int oldest = lru_.back();
    erase(oldest);
    *evicted = oldest;
  }
  const int bit = free_.back();
  free_.pop_back();
  lru_.push_front(bit);
  entries_[bit] = Entry{request, lru_.begin()};
  by_name_[request.name] = bit;
  return bit;
}

void ResponseCache::touch(int bit) {
  lru_.splice(lru_.begin(), lru_, entries_[bit]->lru_position);
}

void ResponseCache::erase(int bit) {
  if (!entries_[bit])
    return;
  by_name_.erase(entries_[bit]->request.name);
  lru_.erase(entries_[bit]->lru_position);
  entries_[bit].reset();
  free_.push_back(bit);
}

Response ResponseCache::response_for(int bit) const {
  const Request& r = entries_[bit]->request;
  Response response;
  response.type = ResponseType::Allreduce;
  response.names = {r.name};
  std::int64_t elements = 1;
  for (std::int64_t d : r.shape)
    elements *= d;  // checked for overflow when it was first negotiated
  response.element_counts = {elements};
  response.dtype = r.dtype;
  response.reduce_op = r.reduce_op;
  response.device = r.device;
  response.on_device = r.on_device;
  response.prescale = r.prescale;
  response.postscale = r.postscale;
  return response;
}

}  // namespace hvd
