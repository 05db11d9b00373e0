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

}  // namespace

Response build_response(const std::vector<Request>& by_rank) {
  const Request& first = by_rank.front();
  using Check = std::pair<const char*, std::function<std::string(const Request&)>>;
  const std::vector<Check> checks = {
      {"the operation", [](const Request& r) { return std::string(op_type_name(r.op)); }},
      {"the device kind",
       [](const Request& r) { return std::string(r.device == kCpuDevice ? "CPU" : "GPU"); }},
      {"dtype", [](const Request& r) { return std::string(data_type_name(r.dtype)); }},
      {"the reduce op", [](const Request& r) { return std::string(reduce_op_name(r.reduce_op)); }},
      {"shape", [](const Request& r) { return shape_to_string(r.shape); }},
      {"prescale_factor", [](const Request& r) { return format_double(r.prescale); }},
      {"postscale_factor", [](const Request& r) { return format_double(r.postscale); }},
  };
  for (const auto& [attribute, value_of] : checks) {
    std::string problem;
    if (describe_disagreement(by_rank, attribute, value_of, &problem)) {
      return error_response(first, problem);
    }
  }
  Response response;
  response.type = ResponseType::Allreduce;
  response.names = {first.name};
  std::int64_t elements = 1;
  for (std::int64_t d : first.shape) {
    if (d != 0 && elements > INT64_MAX / d) {
      return error_response(
          first, "element count of shape " + shape_to_string(first.shape) + " overflows int64");
    }
    elements *= d;
  }
  if (elements > INT64_MAX / element_size_bytes(first.dtype)) {
    return error_response(
        first, "byte size of shape " + shape_to_string(first.shape) + " overflows int64");
  }
  response.element_counts = {elements};
  response.dtype = first.dtype;
  response.reduce_op = first.reduce_op;
  response.device = first.device;
  response.prescale = first.prescale;
  response.postscale = first.postscale;
  return response;
}

}  // namespace hvd
