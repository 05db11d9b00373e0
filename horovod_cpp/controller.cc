#include "horovod_cpp/controller.h"

#include "horovod_cpp/fusion_planner.h"

namespace hvd {
namespace {

constexpr std::uint64_t kAllOnes = ~std::uint64_t{0};
// Flags in word 0, inverted on the wire so that the AND of all ranks computes their OR.
constexpr std::uint64_t kNeedsCoordinator = 1;
constexpr std::uint64_t kNotJoined = 2;

void set_bit(std::vector<std::uint64_t>* words, int bit) {
  (*words)[bit / 64] |= std::uint64_t{1} << (bit % 64);
}

bool bit_is_set(const std::vector<std::uint64_t>& words, size_t offset, int bit) {
  return (words[offset + bit / 64] >> (bit % 64)) & 1;
}

}  // namespace

Controller::Controller(ControlChannel* channel, ControllerOptions options,
                       RuntimeCounters* counters)
    : channel_(channel),
      options_(options),
      counters_(counters),
      fusion_threshold_bytes_(options.fusion_threshold_bytes) {
  if (channel_->rank() == 0) {
    coordinator_ = std::make_unique<Coordinator>(channel_->size(), options_.fusion_threshold_bytes,
                                                 options_.stall);
    if (options_.autotune) {
      AutotuneOptions tuning = options_.autotune_options;
      tuning.tune_cache = options_.cache_capacity > 0;
      autotuner_ = std::make_unique<Autotuner>(
          TuningParams{options_.fusion_threshold_bytes, options_.cycle_time_us,
                       options_.cache_capacity > 0, options_.hierarchical_allreduce},
          std::move(tuning));
    }
  }
  if (options_.cache_capacity > 0)
    cache_ = std::make_unique<ResponseCache>(options_.cache_capacity);
}

StatusOr<ResponseList> Controller::negotiate(const RequestList& mine) {
  StatusOr<ResponseList> out = cache_                        ? cached_round(mine)
                               : options_.cache_capacity > 0 ? cache_off_round(mine)
                                                             : coordinator_round(mine);
  if (!out.is_ok())
    return out;
  if (autotuner_) {
    std::int64_t bytes = 0;
    for (const Response& response : out.value().responses) {
      if (response.type != ResponseType::Error)
        bytes += response.total_bytes();
    }
    autotuner_->observe(bytes, now());
  }
  // Last, so that the whole round (its cached part, the coordinator's part and what the cache
  // learned from it) ran with the values every rank had when it started.
  apply_tuning(out.value());
  return out;
}

void Controller::apply_tuning(const ResponseList& list) {
  if (list.tuned_fusion_threshold_bytes <= 0)
    return;
  fusion_threshold_bytes_ = list.tuned_fusion_threshold_bytes;
  if (coordinator_)
    coordinator_->set_fusion_threshold(fusion_threshold_bytes_);
  if (options_.cache_capacity > 0 && list.tuned_cache_enabled != cache_enabled())
    switch_cache(list.tuned_cache_enabled);
}

void Controller::switch_cache(bool on) {
  // Every rank switches after the same round, so the caches stay identical: all empty now.
  // Hits held here were never shown to the coordinator: they go there next round, as the
  // other ranks' copies of them will (their later submissions are misses, or cache-off
  // requests). Requests the coordinator still holds stay in sent_; with the cache on, they
  // keep the coordinator rounds coming until answered.
  if (on) {
    cache_ = std::make_unique<ResponseCache>(options_.cache_capacity);
    return;
  }
  for (auto& [bit, held] : held_)
    carry_.push_back(std::move(held.request));
  held_.clear();
  cache_.reset();
}

StatusOr<ResponseList> Controller::cache_off_round(const RequestList& mine) {
  // The cache may be switched on later (autotuning): keep sent_ and joined_ up to date for it.
  RequestList slow;
  slow.shutdown = mine.shutdown;
  slow.shutdown_reason = mine.shutdown_reason;
  slow.requests = std::move(carry_);
  carry_.clear();
  slow.requests.insert(slow.requests.end(), mine.requests.begin(), mine.requests.end());
  for (const Request& request : slow.requests) {
    if (request.op == OpType::Join)
      joined_ = true;
    sent_[request.name] = request;
  }
  HVD_ASSIGN_OR_RETURN(ResponseList coordinated, coordinator_round(slow));
  learn(coordinated);
  return coordinated;
}

StatusOr<ResponseList> Controller::coordinator_round(const RequestList& mine) {
  std::vector<std::string> gathered;
  HVD_RETURN_IF_ERROR(
      channel_->gather(mine.serialize(), &gathered).with_context("negotiation gather"));
  std::string response_bytes;
  if (coordinator_) {
    std::vector<RequestList> per_rank;
    per_rank.reserve(gathered.size());
    for (size_t r = 0; r < gathered.size(); ++r) {
      auto parsed = RequestList::parse(gathered[r]);
      if (!parsed.is_ok()) {
        return parsed.status().with_context("request list from rank " + std::to_string(r));
      }
      per_rank.push_back(std::move(parsed).value());
    }
    ResponseList list = coordinator_->compute(per_rank);
    bool final = false;
    if (std::optional<TuningParams> tuned =
            autotuner_ ? autotuner_->take_pending(&final) : std::nullopt) {
      list.tuned_fusion_threshold_bytes = tuned->fusion_threshold_bytes;
      list.tuned_cycle_time_us = tuned->cycle_time_us;
      list.tuned_cache_enabled = tuned->cache_enabled;
      list.tuned_hierarchical_allreduce = tuned->hierarchical_allreduce;
      list.tuning_final = final;
    }
    response_bytes = list.serialize();
  }
  HVD_RETURN_IF_ERROR(channel_->broadcast(&response_bytes).with_context("negotiation broadcast"));
  auto responses = ResponseList::parse(response_bytes);
  if (!responses.is_ok())
    return responses.status().with_context("response list from rank 0");
  return responses;
}

void Controller::classify(const RequestList& mine, std::vector<std::uint64_t>* invalid,
                          RequestList* slow) {
  const auto now = this->now();
  slow->shutdown = mine.shutdown;
  slow->shutdown_reason = mine.shutdown_reason;
  slow->requests = std::move(carry_);
  carry_.clear();
  for (const Request& request : mine.requests) {
    if (request.op == OpType::Join)
      joined_ = true;
    if (ResponseCache::cacheable(request)) {
      int bit = 0;
      const ResponseCache::Lookup found = cache_->lookup(request, &bit);
      if (found == ResponseCache::Lookup::Hit) {
        held_[bit] = HeldHit{request, now};
        if (counters_)
          RuntimeCounters::add(counters_->cache_hits, 1);
        continue;
      }
      if (found == ResponseCache::Lookup::Changed)
        set_bit(invalid, bit);
      if (counters_)
        RuntimeCounters::add(counters_->cache_misses, 1);
    }
    slow->requests.push_back(request);
  }
  for (const auto& [bit, held] : held_) {
    if (now - held.since >= options_.hit_hold_limit)
      set_bit(invalid, bit);
  }
}

StatusOr<ResponseList> Controller::cached_round(const RequestList& mine) {
  const size_t bit_words = (static_cast<size_t>(cache_->capacity()) + 63) / 64;
  std::vector<std::uint64_t> invalid(bit_words, 0);
  RequestList slow;
  classify(mine, &invalid, &slow);
  bool any_invalid_here = false;
  for (std::uint64_t w : invalid)
    any_invalid_here |= w != 0;
  const bool needs_coordinator = !slow.requests.empty() || !sent_.empty() || mine.shutdown ||
                                 any_invalid_here || (autotuner_ && autotuner_->has_pending());

  // [flags][hits][invalid], the OR-parts inverted.
  std::vector<std::uint64_t> words(1 + 2 * bit_words, 0);
  std::uint64_t flags = 0;
  if (needs_coordinator)
    flags |= kNeedsCoordinator;
  if (!joined_)
    flags |= kNotJoined;
  words[0] = ~flags;
  for (size_t i = 0; i < bit_words; ++i) {
    words[1 + i] = joined_ ? kAllOnes : 0;
    words[1 + bit_words + i] = ~invalid[i];
  }
  if (!joined_) {
    for (const auto& entry : held_)
      set_bit(&words, static_cast<int>(64 + entry.first));  // +64: past word 0
  }
  HVD_RETURN_IF_ERROR(channel_->allreduce_and(&words).with_context("negotiation bit vector"));
  const std::uint64_t any_flags = ~words[0];

  // Evict what any rank invalidated; a hit held here for it goes to the coordinator now.
  for (int bit = 0; bit < cache_->capacity(); ++bit) {
    if (bit_is_set(words, 1 + bit_words, bit))
      continue;  // inverted: set means no rank invalidated it
    auto held = held_.find(bit);
    if (held != held_.end()) {
      slow.requests.push_back(std::move(held->second.request));
      held_.erase(held);
    }
    cache_->erase(bit);
  }
  // Ready everywhere. Only meaningful if some rank has not joined: a bit set by joined ranks
  // alone is no request at all.
  std::vector<Response> ready;
  if (any_flags & kNotJoined) {
    for (int bit = 0; bit < cache_->capacity(); ++bit) {
      // An entry some rank invalidated in this round was evicted above, and the hits held for
      // it went to the coordinator, even if every rank also offered it as ready (a hit that
      // reached its hold limit in the round the last rank submitted it).
      if (!bit_is_set(words, 1, bit) || !bit_is_set(words, 1 + bit_words, bit))
        continue;
      // Some rank that has not joined set this bit, and it sets only bits it has cached; the
      // caches are identical, so ours has it too, unless the vector was corrupted.
      if (!cache_->contains(bit)) {
        return Status::error("malformed negotiation bit vector: cache entry " +
                             std::to_string(bit) + " is ready everywhere but empty here");
      }
      ready.push_back(cache_->response_for(bit));
      cache_->touch(bit);
      held_.erase(bit);
    }
  }
  ResponseList out;
  out.responses = plan_fusion(std::move(ready), fusion_threshold_bytes_);
  out.progress = !out.responses.empty();
  if (!(any_flags & kNeedsCoordinator))
    return out;

  for (const Request& request : slow.requests)
    sent_[request.name] = request;
  HVD_ASSIGN_OR_RETURN(ResponseList coordinated, coordinator_round(slow));
  learn(coordinated);
  for (Response& response : coordinated.responses)
    out.responses.push_back(std::move(response));
  out.shutdown_ranks = std::move(coordinated.shutdown_ranks);
  out.shutdown_reasons = std::move(coordinated.shutdown_reasons);
  out.abort_reason = std::move(coordinated.abort_reason);
  out.tuned_fusion_threshold_bytes = coordinated.tuned_fusion_threshold_bytes;
  out.tuned_cycle_time_us = coordinated.tuned_cycle_time_us;
  out.tuned_cache_enabled = coordinated.tuned_cache_enabled;
  out.tuned_hierarchical_allreduce = coordinated.tuned_hierarchical_allreduce;
  out.tuning_final = coordinated.tuning_final;
  out.progress = out.progress || coordinated.progress;
  return out;
}

void Controller::learn(const ResponseList& coordinated) {
  for (const Response& response : coordinated.responses) {
    if (response.type == ResponseType::Join)
      joined_ = false;
    for (const std::string& name : response.names) {
      auto sent = sent_.find(name);
      if (sent == sent_.end())
        continue;  // another rank's error, or an allreduce we run with zeros while joined
      // With no rank joined every rank submitted this name, so every rank inserts it here, in
      // this order, and the caches stay identical.
      if (cache_ && coordinated.cacheable && response.type == ResponseType::Allreduce &&
          ResponseCache::cacheable(sent->second)) {
        int old_bit = 0;
        if (cache_->lookup(sent->second, &old_bit) != ResponseCache::Lookup::Miss)
          cache_->erase(old_bit);
        std::optional<int> evicted;
        cache_->insert(sent->second, &evicted);
        auto held = evicted ? held_.find(*evicted) : held_.end();
        if (held != held_.end()) {
          carry_.push_back(std::move(held->second.request));
          held_.erase(held);
        }
      }
      sent_.erase(sent);
    }
  }
}

std::size_t Controller::pending_on_coordinator() const {
  return coordinator_ ? coordinator_->pending_count() : 0;
}

}  // namespace hvd
