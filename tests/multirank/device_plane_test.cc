// The runtime's GPU data plane path (device_plane.h), run on a simulated device
// (simulated_device.h) across real MPI ranks: on-device allreduces, fused and alone, checked
// against the closed forms of rank_values.h, and broadcasts from every root; the stream
// waits for each input's ready event;
// an op completes only once the device has run it; a device failure reaches every rank; a
// rank whose data plane differs is an error on every rank; a joined rank reduces zeros.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "horovod_cpp/operations.h"
#include "horovod_cpp/torch.h"
#include "rank_values.h"
#include "simulated_device.h"

namespace {

using hvd::ReduceOp;
using hvd_test::expected;
using hvd_test::matches;
using hvd_test::simulated_device;

// Before main(): hvd::init() in multirank_main.cc then finds the simulated plane.
const bool kRegistered = (hvd_test::use_simulated_device(), true);

hvd::DataType data_type(torch::ScalarType t) {
  switch (t) {
    case torch::kUInt8:
      return hvd::DataType::UInt8;
    case torch::kInt8:
      return hvd::DataType::Int8;
    case torch::kInt32:
      return hvd::DataType::Int32;
    case torch::kInt64:
      return hvd::DataType::Int64;
    case torch::kFloat16:
      return hvd::DataType::Float16;
    case torch::kBFloat16:
      return hvd::DataType::BFloat16;
    case torch::kFloat64:
      return hvd::DataType::Float64;
    default:
      return hvd::DataType::Float32;
  }
}

int my_device() {
  return hvd::local_rank();
}

struct DeviceAllreduce {
  std::string name;
  torch::Tensor input;
  torch::Tensor output;
  ReduceOp op = ReduceOp::Sum;
  double prescale = 1.0;
  double postscale = 1.0;
  std::shared_ptr<const hvd::DeviceEvent> ready;
  bool on_device = true;
};

// Queues `a` as an on-device allreduce of this rank's device; throws hvd::Error if refused.
hvd::Handle enqueue(const DeviceAllreduce& a, hvd::OpType op_type = hvd::OpType::Allreduce,
                    int device = my_device(), int root_rank = 0) {
  hvd::TensorTableEntry entry;
  entry.name = a.name;
  entry.op = op_type;
  entry.dtype = data_type(a.input.scalar_type());
  entry.shape = a.input.sizes().vec();
  entry.device = device;
  entry.on_device = a.on_device;
  entry.ready = a.ready;
  entry.reduce_op = a.op;
  entry.prescale = a.prescale;
  entry.postscale = a.postscale;
  entry.root_rank = root_rank;
  entry.input = a.input.data_ptr();
  entry.output = a.output.data_ptr();
  hvd::StatusOr<hvd::Handle> handle = hvd::enqueue_entry(std::move(entry), "device test");
  if (!handle.is_ok())
    throw hvd::Error(handle.status().message());
  return handle.value();
}

void wait(hvd::Handle handle) {
  const hvd::Status status = hvd::wait_handle(handle, "device test");
  if (!status.is_ok())
    throw hvd::Error(status.message());
}

TEST(DeviceAllreduce, EveryDtypeAndOpFusedAndAloneMatchesTheClosedForm) {
  const int size = hvd::size();
  const std::vector<std::vector<int64_t>> shapes = {{}, {0}, {17}, {3, 4, 5}, {40000}};
  const std::vector<ReduceOp> ops = {ReduceOp::Average, ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max,
                                     ReduceOp::Product};
  const auto fused_before = hvd::stats().fused_allreduce_calls;
  for (torch::ScalarType dtype : hvd_test::kNumericDtypes) {
    for (ReduceOp op : ops) {
      // Queued together, so the coordinator fuses them (the threshold is 64 MiB); the lone
      // one after them runs alone.
      std::vector<DeviceAllreduce> ops_here;
      for (size_t s = 0; s < shapes.size(); ++s) {
        DeviceAllreduce a;
        a.name = "dev." + std::string(c10::toString(dtype)) + "." + hvd::reduce_op_name(op) + "." +
                 std::to_string(s);
        a.input = hvd_test::contribution(hvd::rank(), shapes[s], dtype);
        a.output = torch::full(shapes[s], 7, dtype);
        a.op = op;
        ops_here.push_back(a);
      }
      std::vector<hvd::Handle> handles;
      for (const DeviceAllreduce& a : ops_here)
        handles.push_back(enqueue(a));
      for (hvd::Handle h : handles)
        wait(h);
      DeviceAllreduce alone = ops_here.back();
      alone.name += ".alone";
      alone.output = torch::full_like(alone.input, 7);
      wait(enqueue(alone));
      for (const DeviceAllreduce& a : ops_here) {
        EXPECT_TRUE(matches(a.output, expected(op, size, a.input.sizes(), dtype))) << a.name;
      }
      EXPECT_TRUE(matches(alone.output, expected(op, size, alone.input.sizes(), dtype)))
          << alone.name;
    }
  }
  EXPECT_GT(hvd::stats().fused_allreduce_calls, fused_before);
  EXPECT_EQ(simulated_device().planes_made.load(), 1);
  EXPECT_EQ(simulated_device().plane_device.load(), my_device());
}

TEST(DeviceAllreduce, PrescaleAndPostscaleApplyFusedAndAlone) {
  const int size = hvd::size();
  std::vector<DeviceAllreduce> all;
  for (int i = 0; i < 3; ++i) {
    DeviceAllreduce a;
    a.name = "dev.scaled." + std::to_string(i);
    a.input = hvd_test::contribution(hvd::rank(), {5 + i}, torch::kFloat64);
    a.output = torch::zeros_like(a.input);
    a.prescale = 0.5;
    a.postscale = 3.0;
    all.push_back(a);
  }
  std::vector<hvd::Handle> handles;
  for (const DeviceAllreduce& a : all)
    handles.push_back(enqueue(a));
  for (hvd::Handle h : handles)
    wait(h);
  all[0].output.zero_();
  wait(enqueue(all[0]));  // alone, the input's scaling goes through the output
  for (const DeviceAllreduce& a : all) {
    EXPECT_TRUE(
        matches(a.output, expected(ReduceOp::Sum, size, a.input.sizes(), torch::kFloat64) * 1.5))
        << a.name;
  }
}

TEST(DeviceAllreduce, TheStreamWaitsForTheInputsReadyEvent) {
  // The user's stream writes the input 200 ms after the op is queued; an allreduce that did
  // not wait for the event would reduce the -1s there now.
  hvd_test::SimulatedStream user_stream;
  user_stream.set_delay(std::chrono::milliseconds(200));
  const std::vector<int64_t> shape = {1000};
  const torch::Tensor contribution = hvd_test::contribution(hvd::rank(), shape, torch::kFloat32);
  DeviceAllreduce a;
  a.name = "dev.ready_event";
  a.input = torch::full(shape, -1.0f);
  a.output = torch::zeros(shape);
  user_stream.enqueue([input = a.input, contribution] { input.copy_(contribution); });
  a.ready = hvd_test::record_event(user_stream);
  DeviceAllreduce b = a;  // and the same in a fused response
  b.name = "dev.ready_event.fused";
  b.output = torch::zeros(shape);
  std::vector<hvd::Handle> handles = {enqueue(a), enqueue(b)};
  for (hvd::Handle h : handles)
    wait(h);
  EXPECT_TRUE(matches(a.output, expected(ReduceOp::Sum, hvd::size(), shape, torch::kFloat32)));
  EXPECT_TRUE(matches(b.output, expected(ReduceOp::Sum, hvd::size(), shape, torch::kFloat32)));
}

TEST(DeviceAllreduce, AnOpCompletesOnlyOnceTheDeviceHasRunIt) {
  // Each step on the device takes 30 ms: a handle completed before the device ran the copies
  // back would leave the 7s in the output.
  simulated_device().stream_delay_us = 30000;
  const std::vector<int64_t> shape = {256};
  std::vector<DeviceAllreduce> all;
  for (int i = 0; i < 3; ++i) {
    DeviceAllreduce a;
    a.name = "dev.slow." + std::to_string(i);
    a.input = hvd_test::contribution(hvd::rank(), shape, torch::kInt32);
    a.output = torch::full(shape, 7, torch::kInt32);
    a.op = ReduceOp::Average;
    all.push_back(a);
  }
  std::vector<hvd::Handle> handles;
  for (const DeviceAllreduce& a : all)
    handles.push_back(enqueue(a));
  for (size_t i = 0; i < all.size(); ++i) {
    wait(handles[i]);
    EXPECT_TRUE(
        matches(all[i].output, expected(ReduceOp::Average, hvd::size(), shape, torch::kInt32)))
        << all[i].name;
  }
  simulated_device().stream_delay_us = 0;
}

TEST(DeviceBroadcast, InPlaceAndOutOfPlaceFromEveryRootAfterTheReadyEvent) {
  const std::vector<int64_t> shape = {3, 50};
  const auto calls_before = simulated_device().broadcast_calls.load();
  for (int root = 0; root < hvd::size(); ++root) {
    for (torch::ScalarType dtype : {torch::kFloat32, torch::kInt64, torch::kBFloat16}) {
      const torch::Tensor mine = hvd_test::contribution(hvd::rank(), shape, dtype);
      const torch::Tensor roots = hvd_test::contribution(root, shape, dtype);
      // The input is written on the user's stream 100 ms after the op is queued.
      hvd_test::SimulatedStream user_stream;
      user_stream.set_delay(std::chrono::milliseconds(100));
      DeviceAllreduce in_place;
      in_place.name = "dev.bcast." + std::to_string(root) + "." + c10::toString(dtype);
      in_place.input = torch::full(shape, -1, dtype);
      in_place.output = in_place.input;
      user_stream.enqueue([t = in_place.input, mine] { t.copy_(mine); });
      in_place.ready = hvd_test::record_event(user_stream);
      DeviceAllreduce out_of_place;
      out_of_place.name = in_place.name + ".out";
      out_of_place.input = mine.clone();
      out_of_place.output = torch::full(shape, 7, dtype);
      const std::vector<hvd::Handle> handles = {
          enqueue(in_place, hvd::OpType::Broadcast, my_device(), root),
          enqueue(out_of_place, hvd::OpType::Broadcast, my_device(), root)};
      for (hvd::Handle h : handles)
        wait(h);
      EXPECT_TRUE(torch::equal(in_place.output, roots)) << in_place.name;
      EXPECT_TRUE(torch::equal(out_of_place.output, roots)) << out_of_place.name;
      EXPECT_TRUE(torch::equal(out_of_place.input, mine)) << out_of_place.name;
    }
  }
  EXPECT_EQ(simulated_device().broadcast_calls.load() - calls_before, 6 * hvd::size());
}

TEST(DeviceAllreduce, AJoinedRankReducesZerosOnTheDevice) {
  // Rank 0 reduces; every other rank has joined, and contributes zeros from device memory.
  const std::vector<int64_t> shape = {33};
  if (hvd::rank() == 0) {
    DeviceAllreduce a;
    a.name = "dev.while_joined";
    a.input = hvd_test::contribution(0, shape, torch::kFloat32);
    a.output = torch::zeros(shape);
    wait(enqueue(a));
    EXPECT_TRUE(matches(a.output, a.input));
  }
  EXPECT_EQ(hvd::join(), 0);
}

TEST(DeviceAllreduce, RefusedAtEnqueueWithTheReason) {
  DeviceAllreduce a;
  a.name = "dev.allgather";
  a.input = torch::ones({4});
  a.output = torch::zeros({4});
  hvd_test::expect_error([&] { enqueue(a, hvd::OpType::Allgather); },
                         {"allgather 'dev.allgather'", "only allreduce and broadcast"});
  a.name = "dev.other_gpu";
  hvd_test::expect_error(
      [&] { enqueue(a, hvd::OpType::Allreduce, my_device() + 1); },
      {"'dev.other_gpu'", "GPU " + std::to_string(my_device() + 1), "one GPU per rank"});
}

TEST(DeviceAllreduce, ADifferentDataPlaneOnOneRankIsAnErrorOnEveryRank) {
  DeviceAllreduce a;
  a.name = "dev.mixed_planes";
  a.input = torch::ones({8});
  a.output = torch::zeros({8});
  a.on_device = hvd::rank() != 0;  // rank 0 staged it through host memory
  hvd_test::expect_error([&] { wait(enqueue(a)); },
                         {"dev.mixed_planes", "device kind", "staged through host memory"});
}

// Last: the simulated device stays failed, as an aborted NCCL communicator does.
TEST(DeviceFailure, ReachesEveryRankNamingTheOpAndTheRuntimeGoesOn) {
  simulated_device().fail_next_allreduce = true;  // on every rank: the same collective
  DeviceAllreduce a;
  a.name = "dev.fails";
  a.input = torch::ones({16});
  a.output = torch::zeros({16});
  hvd_test::expect_error([&] { wait(enqueue(a)); },
                         {"allreduce 'dev.fails'", "simulated device failure"});
  a.name = "dev.after_failure";
  hvd_test::expect_error([&] { wait(enqueue(a)); }, {"simulated device failure"});
  // Host tensors do not use the device.
  const torch::Tensor summed = hvd::allreduce(torch::ones({3}), ReduceOp::Sum, "host.after");
  EXPECT_TRUE(torch::equal(summed, torch::full({3}, static_cast<float>(hvd::size()))));
}

}  // namespace
