// Launched by hvdrun: checks the topology each rank sees and that data crosses every host, on
// the host path and on a simulated GPU data plane (simulated_device.h), whose allreduce runs
// hierarchically under hvdrun --hierarchical-allreduce: a reduce-scatter within each host, MPI
// across hosts, an allgather within the host. HVD_EXPECT_SLOTS="2,2" says how many ranks each
// host runs, in rank order (mpirun maps by slot); unset, every rank is on one host. Prints one
// line per rank, naming the device path taken; exits non-zero on any mismatch.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "horovod_cpp/operations.h"
#include "horovod_cpp/torch.h"
#include "simulated_device.h"

namespace {

// An on-device Sum of rank-distinct values, checked against its closed form.
bool device_allreduce_matches(int rank, int size) {
  const torch::Tensor base = torch::arange(1000, torch::kFloat32);
  const torch::Tensor input = base * (rank + 1);
  const torch::Tensor output = torch::full({1000}, -1.0f);
  hvd::TensorTableEntry entry;
  entry.name = "probe.device";
  entry.op = hvd::OpType::Allreduce;
  entry.dtype = hvd::DataType::Float32;
  entry.shape = {1000};
  entry.device = hvd::local_rank();
  entry.on_device = true;
  entry.reduce_op = hvd::ReduceOp::Sum;
  entry.input = input.data_ptr();
  entry.output = output.data_ptr();
  hvd::StatusOr<hvd::Handle> handle = hvd::enqueue_entry(std::move(entry), "topology_probe");
  if (!handle.is_ok() || !hvd::wait_handle(handle.value(), "topology_probe").is_ok())
    return false;
  return torch::equal(output, base * (size * (size + 1) / 2));
}

}  // namespace

int main() {
  hvd_test::use_simulated_device();
  hvd::init();
  const int rank = hvd::rank(), size = hvd::size();
  std::vector<int> slots;
  if (const char* spec = std::getenv("HVD_EXPECT_SLOTS")) {
    std::stringstream in(spec);
    for (std::string item; std::getline(in, item, ',');)
      slots.push_back(std::stoi(item));
  } else {
    slots = {size};
  }
  int host = 0, first = 0;
  while (host + 1 < static_cast<int>(slots.size()) && rank >= first + slots[host])
    first += slots[host++];
  const int local_rank = rank - first;
  int cross_size = 0, cross_rank = 0;
  for (int h = 0; h < static_cast<int>(slots.size()); ++h) {
    if (slots[h] > local_rank) {
      if (h < host)
        ++cross_rank;
      ++cross_size;
    }
  }
  std::string problems;
  auto expect = [&](const char* what, int got, int want) {
    if (got != want)
      problems += std::string(" ") + what + "=" + std::to_string(got) + " (want " +
                  std::to_string(want) + ")";
  };
  expect("local_rank", hvd::local_rank(), local_rank);
  expect("local_size", hvd::local_size(), slots[host]);
  expect("cross_rank", hvd::cross_rank(), cross_rank);
  expect("cross_size", hvd::cross_size(), cross_size);

  const auto sum = hvd::allreduce(torch::full({3}, rank + 1.0), hvd::ReduceOp::Sum, "probe.sum");
  if (!torch::equal(sum, torch::full({3}, size * (size + 1) / 2.0)))
    problems += " allreduce";
  // 1 MiB, so that a multi-host run visibly moves data between the hosts.
  const auto big = hvd::allreduce(torch::full({1 << 18}, 1.0f), hvd::ReduceOp::Sum, "probe.big");
  if (!torch::equal(big, torch::full({1 << 18}, static_cast<float>(size))))
    problems += " allreduce(1 MiB)";
  const auto gathered = hvd::allgather(torch::full({1, 2}, static_cast<double>(rank)), "probe.g");
  const auto expected = torch::arange(size, torch::kFloat64).unsqueeze(1).repeat({1, 2});
  if (!torch::equal(gathered, expected))
    problems += " allgather";

  const auto local_before = hvd_test::simulated_device().local_reducescatter_calls.load();
  if (!device_allreduce_matches(rank, size))
    problems += " device allreduce";
  const bool hierarchical =
      hvd_test::simulated_device().local_reducescatter_calls.load() > local_before;

  char hostname[256] = {};
  gethostname(hostname, sizeof(hostname) - 1);
  std::printf("topology_probe rank %d/%d local %d/%d cross %d/%d on %s, device %s: %s\n", rank,
              size, hvd::local_rank(), hvd::local_size(), hvd::cross_rank(), hvd::cross_size(),
              hostname, hierarchical ? "hierarchical" : "flat",
              problems.empty() ? "ok" : ("FAILED:" + problems).c_str());
  hvd::shutdown();
  return problems.empty() ? 0 : 1;
}
