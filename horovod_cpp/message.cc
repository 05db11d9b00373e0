#include "horovod_cpp/message.h"

#include "horovod_cpp/wire_format.h"

namespace hvd {
namespace {

// Bounds that reject forged messages before they allocate anything large.
constexpr std::uint32_t kMaxRank = 1u << 24;
constexpr std::uint32_t kMaxDims = 64;

template <class Enum>
Status get_enum(ByteReader* in, Enum* out, int count, const char* what) {
  std::uint8_t raw = 0;
  HVD_RETURN_IF_ERROR(in->get(&raw));
  if (raw >= count) {
    return Status::error(std::string("malformed control message: ") + what + " value " +
                         std::to_string(raw) + " is out of range");
  }
  *out = static_cast<Enum>(raw);
  return Status::ok();
}

template <class Enum>
void put_enum(ByteWriter* out, Enum value) {
  out->put<std::uint8_t>(static_cast<std::uint8_t>(value));
}

Status get_rank(ByteReader* in, std::int32_t* out) {
  HVD_RETURN_IF_ERROR(in->get(out));
  if (*out < 0 || static_cast<std::uint32_t>(*out) >= kMaxRank) {
    return Status::error("malformed control message: rank " + std::to_string(*out));
  }
  return Status::ok();
}

Status get_device(ByteReader* in, std::int32_t* out) {
  HVD_RETURN_IF_ERROR(in->get(out));
  if (*out < kCpuDevice) {
    return Status::error("malformed control message: device " + std::to_string(*out));
  }
  return Status::ok();
}

// The on-device flag, which only a GPU tensor may set.
Status get_on_device(ByteReader* in, std::int32_t device, bool* out) {
  std::uint8_t flag = 0;
  HVD_RETURN_IF_ERROR(in->get(&flag));
  if (flag > 1 || (flag == 1 && device == kCpuDevice)) {
    return Status::error("malformed control message: on-device flag " + std::to_string(flag) +
                         " for device " + std::to_string(device));
  }
  *out = flag == 1;
  return Status::ok();
}

void put_int64s(ByteWriter* out, const std::vector<std::int64_t>& values) {
  out->put<std::uint32_t>(static_cast<std::uint32_t>(values.size()));
  for (std::int64_t v : values)
    out->put(v);
}

Status get_int64s(ByteReader* in, std::vector<std::int64_t>* values) {
  std::uint32_t count = 0;
  HVD_RETURN_IF_ERROR(in->get_count(&count, sizeof(std::int64_t)));
  values->resize(count);
  for (auto& v : *values)
    HVD_RETURN_IF_ERROR(in->get(&v));
  return Status::ok();
}

Status get_non_negative_int64s(ByteReader* in, std::vector<std::int64_t>* values,
                               const char* what) {
  std::uint32_t count = 0;
  HVD_RETURN_IF_ERROR(in->get_count(&count, sizeof(std::int64_t)));
  values->resize(count);
  for (auto& v : *values) {
    HVD_RETURN_IF_ERROR(in->get(&v));
    if (v < 0)
      return Status::error(std::string("malformed control message: negative ") + what);
  }
  return Status::ok();
}

void put_request(ByteWriter* out, const Request& r) {
  out->put(r.rank);
  put_enum(out, r.op);
  put_enum(out, r.dtype);
  put_enum(out, r.reduce_op);
  out->put(r.device);
  out->put<std::uint8_t>(r.on_device ? 1 : 0);
  out->put_string(r.name);
  out->put<std::uint32_t>(static_cast<std::uint32_t>(r.shape.size()));
  for (std::int64_t d : r.shape)
    out->put(d);
  out->put(r.prescale);
  out->put(r.postscale);
  out->put(r.root_rank);
  put_int64s(out, r.splits);
  out->put_string(r.group);
  out->put(r.group_size);
  out->put(r.group_index);
}

Status get_request(ByteReader* in, Request* r) {
  HVD_RETURN_IF_ERROR(get_rank(in, &r->rank));
  HVD_RETURN_IF_ERROR(get_enum(in, &r->op, kNumOpTypes, "op type"));
  HVD_RETURN_IF_ERROR(get_enum(in, &r->dtype, kNumDataTypes, "data type"));
  HVD_RETURN_IF_ERROR(get_enum(in, &r->reduce_op, kNumReduceOps, "reduce op"));
  HVD_RETURN_IF_ERROR(get_device(in, &r->device));
  HVD_RETURN_IF_ERROR(get_on_device(in, r->device, &r->on_device));
  HVD_RETURN_IF_ERROR(in->get_string(&r->name));
  std::uint32_t dims = 0;
  HVD_RETURN_IF_ERROR(in->get_count(&dims, sizeof(std::int64_t)));
  if (dims > kMaxDims) {
    return Status::error("malformed control message: " + std::to_string(dims) + " dimensions");
  }
  r->shape.resize(dims);
  for (auto& d : r->shape) {
    HVD_RETURN_IF_ERROR(in->get(&d));
    if (d < 0)
      return Status::error("malformed control message: negative dimension");
  }
  HVD_RETURN_IF_ERROR(in->get(&r->prescale));
  HVD_RETURN_IF_ERROR(in->get(&r->postscale));
  HVD_RETURN_IF_ERROR(get_rank(in, &r->root_rank));
  // Splits may be negative: that is the user's mistake, which the coordinator reports.
  HVD_RETURN_IF_ERROR(get_int64s(in, &r->splits));
  HVD_RETURN_IF_ERROR(in->get_string(&r->group));
  HVD_RETURN_IF_ERROR(in->get(&r->group_size));
  HVD_RETURN_IF_ERROR(in->get(&r->group_index));
  if (r->group_size < 0 ||
      (r->group_size > 0 && (r->group_index < 0 || r->group_index >= r->group_size))) {
    return Status::error("malformed control message: group member " +
                         std::to_string(r->group_index) + " of " + std::to_string(r->group_size));
  }
  return Status::ok();
}

void put_response(ByteWriter* out, const Response& r) {
  put_enum(out, r.type);
  out->put<std::uint32_t>(static_cast<std::uint32_t>(r.names.size()));
  for (const auto& name : r.names)
    out->put_string(name);
  put_int64s(out, r.element_counts);
  put_int64s(out, r.dim0_by_rank);
  out->put_string(r.error_message);
  out->put(r.root_rank);
  put_enum(out, r.dtype);
  put_enum(out, r.reduce_op);
  out->put(r.device);
  out->put<std::uint8_t>(r.on_device ? 1 : 0);
  out->put(r.prescale);
  out->put(r.postscale);
}

Status get_response(ByteReader* in, Response* r) {
  HVD_RETURN_IF_ERROR(get_enum(in, &r->type, kNumResponseTypes, "response type"));
  std::uint32_t count = 0;
  HVD_RETURN_IF_ERROR(in->get_count(&count, sizeof(std::uint32_t)));
  r->names.resize(count);
  for (auto& name : r->names)
    HVD_RETURN_IF_ERROR(in->get_string(&name));
  HVD_RETURN_IF_ERROR(get_non_negative_int64s(in, &r->element_counts, "element count"));
  if (r->type != ResponseType::Error && r->element_counts.size() != r->names.size()) {
    return Status::error("malformed control message: " + std::to_string(r->names.size()) +
                         " names but " + std::to_string(r->element_counts.size()) + " counts");
  }
  HVD_RETURN_IF_ERROR(get_non_negative_int64s(in, &r->dim0_by_rank, "dimension"));
  HVD_RETURN_IF_ERROR(in->get_string(&r->error_message));
  HVD_RETURN_IF_ERROR(get_rank(in, &r->root_rank));
  HVD_RETURN_IF_ERROR(get_enum(in, &r->dtype, kNumDataTypes, "data type"));
  HVD_RETURN_IF_ERROR(get_enum(in, &r->reduce_op, kNumReduceOps, "reduce op"));
  HVD_RETURN_IF_ERROR(get_device(in, &r->device));
  HVD_RETURN_IF_ERROR(get_on_device(in, r->device, &r->on_device));
  HVD_RETURN_IF_ERROR(in->get(&r->prescale));
  return in->get(&r->postscale);
}

Status expect_end(const ByteReader& in) {
  if (in.at_end())
    return Status::ok();
  return Status::error("malformed control message: trailing bytes after offset " +
                       std::to_string(in.offset()));
}

}  // namespace

bool Request::operator==(const Request& o) const {
  return rank == o.rank && op == o.op && dtype == o.dtype && reduce_op == o.reduce_op &&
         device == o.device && on_device == o.on_device && name == o.name && shape == o.shape &&
         prescale == o.prescale && postscale == o.postscale && root_rank == o.root_rank &&
         splits == o.splits && group == o.group && group_size == o.group_size &&
         group_index == o.group_index;
}

std::string RequestList::serialize() const {
  ByteWriter out;
  out.put<std::uint8_t>(shutdown ? 1 : 0);
  out.put<std::uint32_t>(static_cast<std::uint32_t>(requests.size()));
  for (const auto& r : requests)
    put_request(&out, r);
  out.put_string(shutdown_reason);
  return out.take();
}

StatusOr<RequestList> RequestList::parse(const std::string& bytes) {
  ByteReader in(bytes);
  RequestList list;
  std::uint8_t shutdown = 0;
  HVD_RETURN_IF_ERROR(in.get(&shutdown));
  list.shutdown = shutdown != 0;
  std::uint32_t count = 0;
  // A request is at least its fixed-size fields: 4+1+1+1+4+1+4+4+8+8+4+4+4+4+4 bytes.
  HVD_RETURN_IF_ERROR(in.get_count(&count, 56));
  list.requests.resize(count);
  for (auto& r : list.requests)
    HVD_RETURN_IF_ERROR(get_request(&in, &r));
  HVD_RETURN_IF_ERROR(in.get_string(&list.shutdown_reason));
  HVD_RETURN_IF_ERROR(expect_end(in));
  return list;
}

std::int64_t Response::total_bytes() const {
  std::int64_t total = 0;
  for (std::int64_t n : element_counts)
    total += n * element_size_bytes(dtype);
  return total;
}

bool Response::operator==(const Response& o) const {
  return type == o.type && names == o.names && element_counts == o.element_counts &&
         dim0_by_rank == o.dim0_by_rank && root_rank == o.root_rank &&
         error_message == o.error_message && dtype == o.dtype && reduce_op == o.reduce_op &&
         device == o.device && on_device == o.on_device && prescale == o.prescale &&
         postscale == o.postscale;
}

std::string ResponseList::serialize() const {
  ByteWriter out;
  out.put<std::uint8_t>(static_cast<std::uint8_t>(
      (progress ? 1 : 0) | (cacheable ? 2 : 0) | (tuning_final ? 4 : 0) |
      (tuned_cache_enabled ? 0 : 8) | (tuned_hierarchical_allreduce ? 16 : 0)));
  out.put<std::uint32_t>(static_cast<std::uint32_t>(shutdown_ranks.size()));
  for (size_t i = 0; i < shutdown_ranks.size(); ++i) {
    out.put(shutdown_ranks[i]);
    out.put_string(i < shutdown_reasons.size() ? shutdown_reasons[i] : std::string());
  }
  out.put_string(abort_reason);
  out.put(tuned_fusion_threshold_bytes);
  out.put(tuned_cycle_time_us);
  out.put<std::uint32_t>(static_cast<std::uint32_t>(responses.size()));
  for (const auto& r : responses)
    put_response(&out, r);
  return out.take();
}

StatusOr<ResponseList> ResponseList::parse(const std::string& bytes) {
  ByteReader in(bytes);
  ResponseList list;
  std::uint8_t flags = 0;
  HVD_RETURN_IF_ERROR(in.get(&flags));
  list.progress = (flags & 1) != 0;
  list.cacheable = (flags & 2) != 0;
  list.tuning_final = (flags & 4) != 0;
  list.tuned_cache_enabled = (flags & 8) == 0;
  list.tuned_hierarchical_allreduce = (flags & 16) != 0;
  std::uint32_t count = 0;
  // A shutdown entry is a rank and a reason's length, at least.
  HVD_RETURN_IF_ERROR(in.get_count(&count, 2 * sizeof(std::int32_t)));
  list.shutdown_ranks.resize(count);
  list.shutdown_reasons.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    HVD_RETURN_IF_ERROR(get_rank(&in, &list.shutdown_ranks[i]));
    HVD_RETURN_IF_ERROR(in.get_string(&list.shutdown_reasons[i]));
  }
  HVD_RETURN_IF_ERROR(in.get_string(&list.abort_reason));
  HVD_RETURN_IF_ERROR(in.get(&list.tuned_fusion_threshold_bytes));
  HVD_RETURN_IF_ERROR(in.get(&list.tuned_cycle_time_us));
  if (list.tuned_fusion_threshold_bytes < 0 || list.tuned_cycle_time_us < 0)
    return Status::error("malformed control message: negative tuning parameters");
  // A response is at least 1+4+4+4+4+4+1+1+4+8+8 bytes.
  HVD_RETURN_IF_ERROR(in.get_count(&count, 43));
  list.responses.resize(count);
  for (auto& r : list.responses)
    HVD_RETURN_IF_ERROR(get_response(&in, &r));
  HVD_RETURN_IF_ERROR(expect_end(in));
  return list;
}

}  // namespace hvd
