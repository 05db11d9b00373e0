#include "horovod_cpp/response_builder.h"

#include <cstdint>
#include <functional>
#include <map>
#include <sstream>

#include "horovod_cpp/rank_ranges.h"
#include "horovod_cpp/status.h"

namespace hvd {
namespace {

std::string format_double(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Compares one attribute across ranks; on disagreement describes each distinct value with
// the ranks that hold it: "rank 0 has [4, 2]; ranks 1-3 have [4, 3]".
bool describe_disagreement(const std::vector<Request>& by_rank, const char* attribute,
                           const std::function<std::string(const Request&)>& value_of,
                           std::string* message) {
  std::map<std::string, std::vector<int>> ranks_by_value;
  std::vector<std::string> order;  // first-seen order keeps rank 0's value first
  for (const Request& r : by_rank) {
    std::string value = value_of(r);
    auto& ranks = ranks_by_value[value];
    if (ranks.empty())
      order.push_back(value);
    ranks.push_back(r.rank);
  }
  if (order.size() <= 1)
    return false;
  std::string out = std::string("ranks disagree on ") + attribute + ": ";
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& ranks = ranks_by_value[order[i]];
    if (i > 0)
      out += "; ";
    out += describe_ranks(ranks) + (ranks.size() == 1 ? " has " : " have ") + order[i];
  }
  *message = out;
  return true;
}

Response error_response(const Request& first, const std::string& problem) {
  Response response;
  response.type = ResponseType::Error;
  response.names = {first.name};
  response.error_message =
      std::string(op_type_name(first.op)) + " '" + first.name + "': " + problem;
  return response;
}

Status checked_element_count(const std::vector<std::int64_t>& shape, DataType dtype,
                             std::int64_t* elements) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d != 0 && n > INT64_MAX / d) {
      return Status::error("element count of shape " + shape_to_string(shape) + " overflows int64");
    }
    n *= d;
  }
  if (n > INT64_MAX / element_size_bytes(dtype)) {
    return Status::error("byte size of shape " + shape_to_string(shape) + " overflows int64");
  }
  *elements = n;
  return Status::ok();
}

std::string trailing_dims(const Request& r) {
  if (r.shape.empty())
    return "a scalar";
  std::vector<std::int64_t> rest(r.shape.begin() + 1, r.shape.end());
  std::string text = shape_to_string(rest);
  return "[*" + (rest.empty() ? std::string("]") : ", " + text.substr(1));
}

std::string group_of(const Request& r) {
  if (r.group_size == 0)
    return "no group";
  return "group '" + r.group + "' of " + std::to_string(r.group_size);
}

// Problems with one rank's alltoall splits, or "" when they are valid for `size` ranks.
std::string splits_problem(const Request& r, int size) {
  const std::int64_t rows = r.shape[0];
  if (r.splits.empty()) {
    if (rows % size == 0)
      return "";
    return "dim 0 of " + std::to_string(rows) + " does not divide evenly over " +
           std::to_string(size) + " ranks and no splits were given";
  }
  if (static_cast<int>(r.splits.size()) != size) {
    return std::to_string(r.splits.size()) + " splits for " + std::to_string(size) + " ranks";
  }
  std::int64_t total = 0;
  for (size_t i = 0; i < r.splits.size(); ++i) {
    const std::int64_t split = r.splits[i];
    if (split < 0)
      return "split " + std::to_string(i) + " is negative (" + std::to_string(split) + ")";
    if (split > INT64_MAX - total)
      return "splits overflow int64 when summed";
    total += split;
  }
  if (total != rows) {
    return "splits sum to " + std::to_string(total) + " but dim 0 is " + std::to_string(rows);
  }
  return "";
}

std::string device_kind(const Request& r) {
  if (r.device == kCpuDevice)
    return "CPU";
  return r.on_device ? "GPU" : "GPU, staged through host memory";
}

using Check = std::pair<const char*, std::function<std::string(const Request&)>>;

// What must agree across ranks, by op; the first disagreement found is reported.
std::vector<Check> checks_for(OpType op) {
  std::vector<Check> checks = {
      {"the operation", [](const Request& r) { return std::string(op_type_name(r.op)); }},
      {"the device kind", device_kind},
      {"dtype", [](const Request& r) { return std::string(data_type_name(r.dtype)); }},
      {"the group (grouped_allreduce)", group_of},
  };
  switch (op) {
    case OpType::Allreduce:
      checks.push_back({"the reduce op",
                        [](const Request& r) { return std::string(reduce_op_name(r.reduce_op)); }});
      checks.push_back({"shape", [](const Request& r) { return shape_to_string(r.shape); }});
      checks.push_back(
          {"prescale_factor", [](const Request& r) { return format_double(r.prescale); }});
      checks.push_back(
          {"postscale_factor", [](const Request& r) { return format_double(r.postscale); }});
      break;
    case OpType::Broadcast:
      checks.push_back({"root_rank", [](const Request& r) { return std::to_string(r.root_rank); }});
      checks.push_back({"shape", [](const Request& r) { return shape_to_string(r.shape); }});
      break;
    case OpType::Reducescatter:
      checks.push_back({"the reduce op",
                        [](const Request& r) { return std::string(reduce_op_name(r.reduce_op)); }});
      checks.push_back({"shape", [](const Request& r) { return shape_to_string(r.shape); }});
      break;
    case OpType::Allgather:
    case OpType::Alltoall:
      checks.push_back({"the dimensions after dim 0", trailing_dims});
      break;
    case OpType::Barrier:
    case OpType::Join:
      break;
  }
  return checks;
}

// Per-rank problems that are not disagreements: one message naming each offending rank.
std::string local_problems(const std::vector<Request>& submitted, int size) {
  std::string out;
  for (const Request& r : submitted) {
    std::int64_t elements = 0;
    std::string problem = checked_element_count(r.shape, r.dtype, &elements).message();
    if (problem.empty() && r.op == OpType::Alltoall && !r.shape.empty())
      problem = splits_problem(r, size);
    if (!problem.empty())
      out +=
          std::string(out.empty() ? "" : "; ") + "rank " + std::to_string(r.rank) + ": " + problem;
  }
  return out;
}

Status check_dim0(const Request& first) {
  if (!first.shape.empty())
    return Status::ok();
  return Status::error("a scalar has no dim 0 to " +
                       std::string(first.op == OpType::Reducescatter ? "scatter" : "split"));
}

}  // namespace

Response build_response(const std::vector<Request>& submitted, int size,
                        const std::vector<int>& joined) {
  const Request& first = submitted.front();
  // The operation check comes first, so the op-specific checks below only see one op type.
  for (const auto& [attribute, value_of] : checks_for(first.op)) {
    std::string problem;
    if (describe_disagreement(submitted, attribute, value_of, &problem)) {
      return error_response(first, problem);
    }
  }
  if (!joined.empty() && first.op != OpType::Allreduce) {
    return error_response(first, "cannot run while " + describe_ranks(joined) +
                                     (joined.size() == 1 ? " has" : " have") +
                                     " joined (hvd::join); only allreduce can, with joined ranks "
                                     "contributing zeros");
  }
  if (first.op == OpType::Allgather || first.op == OpType::Alltoall ||
      first.op == OpType::Reducescatter) {
    if (first.shape.empty() && first.op == OpType::Allgather)
      return error_response(first, "a scalar has no dim 0 to gather");
    Status dim0 = check_dim0(first);
    if (!dim0.is_ok())
      return error_response(first, dim0.message());
  }
  const std::string problems = local_problems(submitted, size);
  if (!problems.empty())
    return error_response(first, problems);

  Response response;
  response.names = {first.name};
  response.dtype = first.dtype;
  response.device = first.device;
  response.on_device = first.on_device;
  std::int64_t elements = 0;
  Status counted = checked_element_count(first.shape, first.dtype, &elements);
  switch (first.op) {
    case OpType::Allreduce:
      response.type = ResponseType::Allreduce;
      response.reduce_op = first.reduce_op;
      response.prescale = first.prescale;
      response.postscale = first.postscale;
      break;
    case OpType::Broadcast:
      response.type = ResponseType::Broadcast;
      response.root_rank = first.root_rank;
      break;
    case OpType::Reducescatter:
      if (first.reduce_op != ReduceOp::Sum && first.reduce_op != ReduceOp::Average) {
        return error_response(first, std::string("reduce op ") + reduce_op_name(first.reduce_op) +
                                         " is not supported (Sum or Average only)");
      }
      response.type = ResponseType::Reducescatter;
      response.reduce_op = first.reduce_op;
      break;
    case OpType::Alltoall:
      response.type = ResponseType::Alltoall;
      // Counts differ per rank; what all share is the size of one dim-0 row.
      counted = checked_element_count({first.shape.begin() + 1, first.shape.end()}, first.dtype,
                                      &elements);
      break;
    case OpType::Barrier:
      response.type = ResponseType::Barrier;
      elements = 0;
      break;
    case OpType::Join:
      return error_response(first, "internal: join is matched by the coordinator");
    case OpType::Allgather: {
      response.type = ResponseType::Allgather;
      std::vector<std::int64_t> gathered = first.shape;
      gathered[0] = 0;
      for (const Request& r : submitted) {
        if (r.shape[0] > INT64_MAX - gathered[0]) {
          return error_response(first, "the gathered dim 0 overflows int64");
        }
        gathered[0] += r.shape[0];
        response.dim0_by_rank.push_back(r.shape[0]);
      }
      counted = checked_element_count(gathered, first.dtype, &elements);
      break;
    }
  }
  if (!counted.is_ok())
    return error_response(first, counted.message());
  response.element_counts = {elements};
  return response;
}

}  // namespace hvd
