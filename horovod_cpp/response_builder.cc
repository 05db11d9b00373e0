#include "horovod_cpp/response_builder.h"

#include <cstdint>
#include <functional>
#include <map>
#include <sstream>

#include "horovod_cpp/rank_ranges.h"

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

using Check = std::pair<const char*, std::function<std::string(const Request&)>>;

// What must agree across ranks, by op; the first disagreement found is reported.
std::vector<Check> checks_for(OpType op) {
  std::vector<Check> checks = {
      {"the operation", [](const Request& r) { return std::string(op_type_name(r.op)); }},
      {"the device kind",
       [](const Request& r) { return std::string(r.device == kCpuDevice ? "CPU" : "GPU"); }},
      {"dtype", [](const Request& r) { return std::string(data_type_name(r.dtype)); }},
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
    case OpType::Allgather:
      checks.push_back({"the dimensions after dim 0", trailing_dims});
      break;
  }
  return checks;
}

}  // namespace

Response build_response(const std::vector<Request>& by_rank) {
  const Request& first = by_rank.front();
  // The operation check comes first, so the op-specific checks below only see one op type.
  for (const auto& [attribute, value_of] : checks_for(first.op)) {
    std::string problem;
    if (describe_disagreement(by_rank, attribute, value_of, &problem)) {
      return error_response(first, problem);
    }
  }
  Response response;
  response.names = {first.name};
  response.dtype = first.dtype;
  response.device = first.device;
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
    case OpType::Allgather: {
      if (first.shape.empty())
        return error_response(first, "a scalar has no dim 0 to gather");
      response.type = ResponseType::Allgather;
      std::vector<std::int64_t> gathered = first.shape;
      gathered[0] = 0;
      for (const Request& r : by_rank) {
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
