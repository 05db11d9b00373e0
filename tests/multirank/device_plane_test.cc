// The runtime's GPU data plane path (device_plane.h), run on a simulated device
// (simulated_device.h) across real MPI ranks: on-device allreduces, fused and alone, checked
// against the closed forms of rank_values.h, broadcasts from every root, allgathers,
// reducescatters and alltoalls with uneven rows; the stream
// waits for each input's ready event;
// an op completes only once the device has run it; a device failure ends the job; a rank
// whose data plane differs is an error on every rank; a joined rank reduces zeros, and makes
// its plane itself when that response is its first on the GPU.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../unit/json_reader.h"
#include "autotune_log.h"
#include "expect_error.h"
#include "horovod_cpp/operations.h"
#include "horovod_cpp/torch.h"
#include "rank_values.h"
#include "simulated_device.h"
#include "timeline_rows.h"

namespace {

using hvd::ReduceOp;
using hvd_test::expected;
using hvd_test::matches;
using hvd_test::row_events;
using hvd_test::simulated_device;

// Before main(): hvd::init() in multirank_main.cc then finds the simulated plane.
const bool kRegistered = (hvd_test::use_simulated_device(), true);

// Tests that need a fresh process, or end the job, run only where HVD_TEST_ONLY names their
// suite (ctest also filters with GTEST_FILTER, so each runs in a process of its own).
bool chosen(const char* suite) {
  const char* only = std::getenv("HVD_TEST_ONLY");
  return only != nullptr && std::string(only) == suite;
}

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
    case torch::kBool:
      return hvd::DataType::Bool;
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
  // Allgather, alltoall, reducescatter: the output, allocated by the runtime once every
  // rank's rows are known.
  std::shared_ptr<torch::Tensor> gathered = std::make_shared<torch::Tensor>();
  // Alltoall: rows sent to each rank (empty: even), and rows received from each.
  std::vector<int64_t> splits;
  std::shared_ptr<std::vector<int64_t>> received = std::make_shared<std::vector<int64_t>>();
};

// `a` as an on-device op of `device`.
hvd::TensorTableEntry entry_of(const DeviceAllreduce& a, hvd::OpType op_type, int device,
                               int root_rank) {
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
  entry.splits = a.splits;
  entry.set_received_splits = [slot = a.received](const std::vector<int64_t>& rows) {
    *slot = rows;
  };
  if (op_type == hvd::OpType::Allgather || op_type == hvd::OpType::Alltoall ||
      op_type == hvd::OpType::Reducescatter) {
    entry.allocate_output = [slot = a.gathered, options = a.input.options()](
                                const std::vector<int64_t>& shape) -> hvd::StatusOr<void*> {
      *slot = torch::full(shape, 7, options);
      return slot->data_ptr();
    };
  } else {
    entry.output = a.output.data_ptr();
  }
  return entry;
}

// Queues `a` as an on-device allreduce of this rank's device; throws hvd::Error if refused.
hvd::Handle enqueue(const DeviceAllreduce& a, hvd::OpType op_type = hvd::OpType::Allreduce,
                    int device = my_device(), int root_rank = 0) {
  hvd::StatusOr<hvd::Handle> handle =
      hvd::enqueue_entry(entry_of(a, op_type, device, root_rank), "device test");
  if (!handle.is_ok())
    throw hvd::Error(handle.status().message());
  return handle.value();
}

// Queues a grouped allreduce of one small tensor on each of `devices`, which this rank must
// refuse at once, with every fragment in the message.
void expect_group_refused(const std::vector<int>& devices, const char* group,
                          const std::vector<std::string>& fragments) {
  std::vector<DeviceAllreduce> members(devices.size());
  std::vector<hvd::TensorTableEntry> entries;
  for (size_t i = 0; i < devices.size(); ++i) {
    members[i].input = torch::ones({3});
    members[i].output = torch::zeros({3});
    entries.push_back(entry_of(members[i], hvd::OpType::Allreduce, devices[i], 0));
  }
  hvd::StatusOr<std::vector<hvd::Handle>> handles =
      hvd::enqueue_group(std::move(entries), group, "device test");
  if (handles.is_ok()) {
    for (hvd::Handle handle : handles.value())
      (void)hvd::wait_handle(handle, group);  // the members' memory must outlive the op
    ADD_FAILURE() << group << " was queued";
    return;
  }
  hvd_test::expect_error([&] { throw hvd::Error(handles.status().message()); }, fragments);
}

void wait(hvd::Handle handle) {
  const hvd::Status status = hvd::wait_handle(handle, "device test");
  if (!status.is_ok())
    throw hvd::Error(status.message());
}

// Queues `all` as allreduces (Sum), waits for every one, and checks each output: the sum over
// the ranks times `factor` (the prescale times the postscale).
void reduce_and_check(const std::vector<DeviceAllreduce>& all, double factor) {
  std::vector<hvd::Handle> handles;
  for (const DeviceAllreduce& a : all)
    handles.push_back(enqueue(a));
  for (hvd::Handle h : handles)
    wait(h);
  for (const DeviceAllreduce& a : all) {
    EXPECT_TRUE(matches(
        a.output,
        expected(ReduceOp::Sum, hvd::size(), a.input.sizes(), a.input.scalar_type()) * factor))
        << a.name;
  }
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

TEST(DeviceAllreduce, AFusedResponseIsPackedAndUnpackedInOneBatchOfCopiesEach) {
  // Per tensor, a fused response would cost a copy (a kernel, on a GPU) each way; the plane
  // gets one batch each way instead. (The hierarchical path packs lone tensors too.)
  const bool hierarchical = hvd::stats().hierarchical_allreduce && hvd::cross_size() > 1;
  const auto batched_before = simulated_device().batched_copy_calls.load();
  const auto single_before = simulated_device().scaled_copy_calls.load();
  const auto local_before = simulated_device().local_reducescatter_calls.load();
  const auto fused_before = hvd::stats().fused_allreduce_calls;
  std::vector<DeviceAllreduce> all;
  for (int i = 0; i < 24; ++i) {
    DeviceAllreduce a;
    a.name = "dev.batched." + std::to_string(i);
    a.input = hvd_test::contribution(hvd::rank(), {1 + 37 * i}, torch::kFloat32);
    a.output = torch::full_like(a.input, 7.0f);
    a.prescale = 0.5;
    a.postscale = 4.0;
    all.push_back(a);
  }
  reduce_and_check(all, 0.5 * 4.0);
  // The fusion buffer has the threshold's size at least, from its first use on: larger groups
  // (up to the threshold) find it big enough.
  EXPECT_GE(simulated_device().fusion_buffer_bytes.load(), hvd::stats().fusion_threshold_bytes);
  const auto growths = simulated_device().fusion_buffer_growths.load();
  std::vector<DeviceAllreduce> larger = all;
  for (DeviceAllreduce& a : larger) {
    a.name += ".larger";
    a.input = hvd_test::contribution(hvd::rank(), {3 * a.input.size(0)}, torch::kFloat32);
    a.output = torch::full_like(a.input, 7.0f);
  }
  reduce_and_check(larger, 0.5 * 4.0);
  EXPECT_EQ(simulated_device().fusion_buffer_growths.load(), growths);
  const auto batched = simulated_device().batched_copy_calls.load() - batched_before;
  const auto single = simulated_device().scaled_copy_calls.load() - single_before;
  if (hierarchical) {
    // Every response is packed: a batch each way per hierarchical allreduce, no lone copies.
    EXPECT_EQ(batched, 2 * (simulated_device().local_reducescatter_calls.load() - local_before));
    EXPECT_EQ(single, 0);
  } else {
    const auto fused = hvd::stats().fused_allreduce_calls - fused_before;
    ASSERT_GE(fused, 1) << "nothing fused: the test shows nothing";
    EXPECT_EQ(batched, 2 * fused);
    // A response of one tensor scales in place: a copy in, one out, unbatched.
    EXPECT_EQ(single % 2, 0);
    EXPECT_LT(single, 2 * static_cast<std::int64_t>(all.size() + larger.size()));
  }
}

TEST(DeviceAllreduce, OutputsAliasedWithinAFusedResponseAreNotCopiedInOneBatch) {
  // In-place ops on overlapping views of one tensor, say: members 0 and 2 of a group (which
  // runs as one fused response) write the same memory. A batch of copies may run in any order
  // at once, so the plane must get them separately (the simulated device refuses a batch whose
  // writes overlap, as a GPU's would race). Both give the same values, so any order is right.
  const int size = hvd::size();
  const std::vector<int64_t> shape = {100};
  const torch::Tensor shared = torch::full(shape, 7.0f);
  std::vector<DeviceAllreduce> members(3);
  for (size_t i = 0; i < members.size(); ++i) {
    members[i].input = hvd_test::contribution(hvd::rank(), shape, torch::kFloat32);
    members[i].output = i == 1 ? torch::full(shape, 7.0f) : shared;
  }
  const auto fused_before = hvd::stats().fused_allreduce_calls;
  const auto single_before = simulated_device().scaled_copy_calls.load();
  std::vector<hvd::TensorTableEntry> entries;
  for (const DeviceAllreduce& a : members)
    entries.push_back(entry_of(a, hvd::OpType::Allreduce, my_device(), 0));
  hvd::StatusOr<std::vector<hvd::Handle>> handles =
      hvd::enqueue_group(std::move(entries), "dev.aliased", "device test");
  ASSERT_TRUE(handles.is_ok()) << handles.status().message();
  for (hvd::Handle h : handles.value())
    wait(h);
  const torch::Tensor sum = expected(ReduceOp::Sum, size, shape, torch::kFloat32);
  EXPECT_TRUE(matches(shared, sum));
  EXPECT_TRUE(matches(members[1].output, sum));
  if (hvd::stats().hierarchical_allreduce && hvd::cross_size() > 1)
    return;  // (the hierarchical path unpacks the same way; the counts below are the flat one's)
  EXPECT_EQ(hvd::stats().fused_allreduce_calls - fused_before, 1);
  EXPECT_EQ(simulated_device().scaled_copy_calls.load() - single_before, 3)
      << "the unpacking: one copy per member";
}

TEST(DeviceAllreduce, TheStreamWaitsForTheInputsReadyEvent) {
  // The user's stream writes the inputs 200 ms after the ops are queued; an allreduce that
  // did not wait for the event would reduce the -1s there now. a and b fuse; c (another
  // dtype) runs alone.
  hvd_test::SimulatedStream user_stream;
  user_stream.set_delay(std::chrono::milliseconds(200));
  const std::vector<int64_t> shape = {1000};
  std::vector<DeviceAllreduce> all;
  for (torch::ScalarType dtype : {torch::kFloat32, torch::kFloat32, torch::kFloat64}) {
    DeviceAllreduce a;
    a.name = "dev.ready_event." + std::to_string(all.size());
    a.input = torch::full(shape, -1, dtype);
    a.output = torch::zeros(shape, dtype);
    user_stream.enqueue([input = a.input, mine = hvd_test::contribution(
                                              hvd::rank(), shape, dtype)] { input.copy_(mine); });
    all.push_back(a);
  }
  const auto ready = hvd_test::record_event(user_stream);
  std::vector<hvd::Handle> handles;
  for (DeviceAllreduce& a : all) {
    a.ready = ready;
    handles.push_back(enqueue(a));
  }
  for (hvd::Handle h : handles)
    wait(h);
  for (const DeviceAllreduce& a : all) {
    EXPECT_TRUE(
        matches(a.output, expected(ReduceOp::Sum, hvd::size(), shape, a.input.scalar_type())))
        << a.name;
  }
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

TEST(DeviceAllgather, RanksWithDifferentRowCountsEveryDtypeAfterTheReadyEvent) {
  // Rank r gathers r + 1 rows of 3 (and, second, an empty tensor on every rank but the last),
  // its input written on the user's stream 100 ms after the op is queued.
  const int size = hvd::size(), rank = hvd::rank();
  const auto calls_before = simulated_device().allgather_calls.load();
  hvd_test::SimulatedStream user_stream;
  user_stream.set_delay(std::chrono::milliseconds(100));
  std::vector<DeviceAllreduce> all;
  std::vector<hvd::Handle> handles;
  for (torch::ScalarType dtype : {torch::kFloat32, torch::kInt64, torch::kBool, torch::kFloat16}) {
    for (int variant = 0; variant < 2; ++variant) {
      const int64_t rows = variant == 0 ? rank + 1 : (rank == size - 1 ? 2 : 0);
      DeviceAllreduce a;
      a.name = std::string("dev.gather.") + c10::toString(dtype) + "." + std::to_string(variant);
      a.input = torch::full({rows, 3}, -1, dtype);
      user_stream.enqueue([input = a.input, rank] { input.fill_(rank + 1); });
      a.ready = hvd_test::record_event(user_stream);
      all.push_back(a);
      handles.push_back(enqueue(a, hvd::OpType::Allgather));
    }
  }
  for (hvd::Handle h : handles)
    wait(h);
  for (size_t i = 0; i < all.size(); ++i) {
    const torch::ScalarType dtype = all[i].input.scalar_type();
    std::vector<torch::Tensor> parts;
    for (int r = 0; r < size; ++r) {
      const int64_t rows = i % 2 == 0 ? r + 1 : (r == size - 1 ? 2 : 0);
      parts.push_back(torch::full({rows, 3}, r + 1, dtype));
    }
    EXPECT_TRUE(torch::equal(*all[i].gathered, torch::cat(parts))) << all[i].name;
  }
  // One call each: on-device allgathers are not fused.
  EXPECT_EQ(simulated_device().allgather_calls.load() - calls_before,
            static_cast<int64_t>(all.size()));
}

TEST(DeviceAllreduce, TheHierarchicalPathRunsWhereTheSettingAsks) {
  // HOROVOD_HIERARCHICAL_ALLREDUCE=1 across hosts (ctest's hierarchical run): floating
  // allreduces, alone and fused, go through the host-local reduce-scatter, MPI across hosts,
  // and the local allgather; an integer Average stays flat (it must truncate once). Without
  // the setting, or on one host, none do.
  const char* setting = std::getenv("HOROVOD_HIERARCHICAL_ALLREDUCE");
  const bool hierarchical =
      setting != nullptr && std::string(setting) == "1" && hvd::cross_size() > 1;
  const int size = hvd::size();
  const auto before = simulated_device().local_reducescatter_calls.load();
  const auto flat_before = simulated_device().allreduce_calls.load();
  // Fewer elements than ranks too: some local ranks' shards are empty.
  const std::vector<std::vector<int64_t>> shapes = {{1}, {7, 3}, {1000}};
  std::vector<DeviceAllreduce> all;
  std::vector<hvd::Handle> handles;
  for (ReduceOp op : {ReduceOp::Average, ReduceOp::Max, ReduceOp::Product}) {
    for (const auto& shape : shapes) {
      DeviceAllreduce a;
      a.name =
          "dev.hier." + std::string(hvd::reduce_op_name(op)) + "." + std::to_string(shape.front());
      a.op = op;
      a.prescale = op == ReduceOp::Average ? 2.0 : 1.0;
      a.postscale = op == ReduceOp::Average ? 0.125 : 1.0;  // with the prescale: x 1/4
      a.input = hvd_test::contribution(hvd::rank(), shape, torch::kFloat32);
      a.output = torch::full(shape, 7.0f);
      all.push_back(a);
      handles.push_back(enqueue(a));
    }
  }
  for (hvd::Handle h : handles)
    wait(h);  // fused by op: three responses
  DeviceAllreduce alone = all.front();
  alone.name = "dev.hier.alone";
  alone.output = torch::full_like(alone.input, 7.0f);
  wait(enqueue(alone));
  DeviceAllreduce integer;
  integer.name = "dev.hier.int_average";
  integer.op = ReduceOp::Average;
  integer.input = hvd_test::contribution(hvd::rank(), {10}, torch::kInt32);
  integer.output = torch::zeros({10}, torch::kInt32);
  wait(enqueue(integer));
  for (const DeviceAllreduce& a : all) {
    const double scale = a.prescale * a.postscale;
    EXPECT_TRUE(matches(a.output, expected(a.op, size, a.input.sizes(), torch::kFloat32) * scale))
        << a.name;
  }
  EXPECT_TRUE(
      matches(alone.output, expected(ReduceOp::Average, size, {1}, torch::kFloat32) * 0.25));
  EXPECT_TRUE(matches(integer.output, expected(ReduceOp::Average, size, {10}, torch::kInt32)));
  // Rounds decide the fusion: 3 fused responses and the lone one, up to 10 responses.
  const auto local_calls = simulated_device().local_reducescatter_calls.load() - before;
  const auto flat_calls = simulated_device().allreduce_calls.load() - flat_before;
  if (hierarchical) {
    EXPECT_GE(local_calls, 4);
    EXPECT_LE(local_calls, 10);
    EXPECT_EQ(flat_calls, 1);  // the integer Average
  } else {
    EXPECT_EQ(local_calls, 0);
    EXPECT_GE(flat_calls, 5);
    EXPECT_LE(flat_calls, 11);
  }
}

TEST(DeviceReducescatter, EveryDtypeSumAndAverageWithUnevenBlocksAfterTheReadyEvent) {
  // 2 * size + 1 rows (rank 0 gets one more than the rest), and size - 1 rows (the last rank
  // gets none), of 3; inputs written on the user's stream after the ops are queued.
  const int size = hvd::size(), rank = hvd::rank();
  const std::vector<ReduceOp> ops = {ReduceOp::Average, ReduceOp::Sum};  // all the API has
  const auto calls_before = simulated_device().reducescatter_calls.load();
  hvd_test::SimulatedStream user_stream;
  user_stream.set_delay(std::chrono::milliseconds(2));
  std::vector<DeviceAllreduce> all;
  std::vector<hvd::Handle> handles;
  for (torch::ScalarType dtype : hvd_test::kNumericDtypes) {
    for (ReduceOp op : ops) {
      for (int64_t rows : {int64_t{2} * size + 1, int64_t{size} - 1}) {
        DeviceAllreduce a;
        a.name = "dev.rs." + std::string(c10::toString(dtype)) + "." + hvd::reduce_op_name(op) +
                 "." + std::to_string(rows);
        a.op = op;
        a.input = torch::full({rows, 3}, -1, dtype);
        user_stream.enqueue([input = a.input, mine = hvd_test::contribution(
                                                  rank, {rows, 3}, dtype)] { input.copy_(mine); });
        a.ready = hvd_test::record_event(user_stream);
        all.push_back(a);
        handles.push_back(enqueue(a, hvd::OpType::Reducescatter));
      }
    }
  }
  for (hvd::Handle h : handles)
    wait(h);
  for (const DeviceAllreduce& a : all) {
    const int64_t rows = a.input.size(0);
    int64_t first = 0;
    for (int r = 0; r < rank; ++r)
      first += rows / size + (r < rows % size ? 1 : 0);
    const int64_t mine = rows / size + (rank < rows % size ? 1 : 0);
    const torch::Tensor full = expected(a.op, size, {rows, 3}, a.input.scalar_type());
    EXPECT_TRUE(matches(*a.gathered, full.narrow(0, first, mine))) << a.name;
  }
  // One call each: on-device reducescatters are not fused.
  EXPECT_EQ(simulated_device().reducescatter_calls.load() - calls_before,
            static_cast<int64_t>(all.size()));
}

TEST(DeviceAlltoall, UnevenEvenAndEmptySplitsEveryDtypeAfterTheReadyEvent) {
  // Rank r sends (r + k) % 3 rows to rank k (some none), then 2 rows to each rank (even, no
  // splits given), then nothing at all; every row sent from r to k holds 1 + r * size + k.
  const int size = hvd::size(), rank = hvd::rank();
  const auto calls_before = simulated_device().alltoall_calls.load();
  auto rows_sent = [](int variant, int from, int to) -> int64_t {
    return variant == 0 ? (from + to) % 3 : variant == 1 ? 2 : 0;
  };
  auto rows_from = [&](int variant, int from, int to, torch::ScalarType dtype) {
    return torch::full({rows_sent(variant, from, to), 2}, 1 + from * size + to, dtype);
  };
  hvd_test::SimulatedStream user_stream;
  user_stream.set_delay(std::chrono::milliseconds(20));
  std::vector<DeviceAllreduce> all;
  std::vector<int> variants;
  std::vector<hvd::Handle> handles;
  for (torch::ScalarType dtype : hvd_test::kEveryDtype) {
    for (int variant = 0; variant < 3; ++variant) {
      std::vector<torch::Tensor> blocks;
      DeviceAllreduce a;
      for (int k = 0; k < size; ++k) {
        blocks.push_back(rows_from(variant, rank, k, dtype));
        if (variant != 1)
          a.splits.push_back(rows_sent(variant, rank, k));
      }
      const torch::Tensor mine = torch::cat(blocks);
      a.name = "dev.a2a." + std::string(c10::toString(dtype)) + "." + std::to_string(variant);
      a.input = torch::full_like(mine, 0);
      user_stream.enqueue([input = a.input, mine] { input.copy_(mine); });
      a.ready = hvd_test::record_event(user_stream);
      all.push_back(a);
      variants.push_back(variant);
      handles.push_back(enqueue(a, hvd::OpType::Alltoall));
    }
  }
  for (hvd::Handle h : handles)
    wait(h);
  for (size_t i = 0; i < all.size(); ++i) {
    std::vector<torch::Tensor> blocks;
    std::vector<int64_t> received;
    for (int r = 0; r < size; ++r) {
      blocks.push_back(rows_from(variants[i], r, rank, all[i].input.scalar_type()));
      received.push_back(rows_sent(variants[i], r, rank));
    }
    EXPECT_TRUE(torch::equal(*all[i].gathered, torch::cat(blocks))) << all[i].name;
    EXPECT_EQ(*all[i].received, received) << all[i].name;
  }
  EXPECT_EQ(simulated_device().alltoall_calls.load() - calls_before,
            static_cast<int64_t>(all.size()));
}

// The host-staged GPU path (HOROVOD_GPU_OPERATIONS=MPI): the adapter queues the copy of a
// CUDA tensor into host memory on the user's stream and returns; the entry is a host op with a
// ready event, and the background thread waits for it before reading the input.
TEST(DeviceStaged, HostOpsReadAStagedInputOnlyOnceItsReadyEventHasHappened) {
  // The staging copies run on the user's stream 200 ms after the ops are queued; an op that
  // did not wait would read the -1s there now. The two float32 allreduces may fuse.
  const int size = hvd::size(), rank = hvd::rank();
  const auto device_calls_before = simulated_device().allreduce_calls.load() +
                                   simulated_device().broadcast_calls.load() +
                                   simulated_device().allgather_calls.load();
  hvd_test::SimulatedStream user_stream;
  user_stream.set_delay(std::chrono::milliseconds(200));
  const std::vector<int64_t> shape = {257};
  std::vector<DeviceAllreduce> reduced;
  for (torch::ScalarType dtype : {torch::kFloat32, torch::kFloat32, torch::kFloat64}) {
    DeviceAllreduce a;
    a.name = "staged.allreduce." + std::to_string(reduced.size());
    a.on_device = false;
    a.input = torch::full(shape, -1, dtype);
    a.output = torch::zeros(shape, dtype);
    user_stream.enqueue([input = a.input, mine = hvd_test::contribution(rank, shape, dtype)] {
      input.copy_(mine);
    });
    reduced.push_back(a);
  }
  DeviceAllreduce broadcast;
  broadcast.name = "staged.broadcast";
  broadcast.on_device = false;
  broadcast.input = torch::full({5}, -1, torch::kInt32);
  broadcast.output = broadcast.input;
  user_stream.enqueue([t = broadcast.input, rank] { t.fill_(100 + rank); });
  DeviceAllreduce gathered;
  gathered.name = "staged.allgather";
  gathered.on_device = false;
  gathered.input = torch::full({rank + 1, 2}, -1, torch::kInt64);
  user_stream.enqueue([t = gathered.input, rank] { t.fill_(rank); });
  const auto ready = hvd_test::record_event(user_stream);
  std::vector<hvd::Handle> handles;
  for (DeviceAllreduce& a : reduced) {
    a.ready = ready;
    handles.push_back(enqueue(a));
  }
  broadcast.ready = ready;
  handles.push_back(enqueue(broadcast, hvd::OpType::Broadcast, my_device(), size - 1));
  gathered.ready = ready;
  handles.push_back(enqueue(gathered, hvd::OpType::Allgather));
  for (hvd::Handle h : handles)
    wait(h);
  for (const DeviceAllreduce& a : reduced) {
    EXPECT_TRUE(matches(a.output, expected(ReduceOp::Sum, size, shape, a.input.scalar_type())))
        << a.name;
  }
  EXPECT_TRUE(torch::equal(broadcast.output, torch::full({5}, 100 + size - 1, torch::kInt32)));
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < size; ++r)
    parts.push_back(torch::full({r + 1, 2}, r, torch::kInt64));
  EXPECT_TRUE(torch::equal(*gathered.gathered, torch::cat(parts)));
  // Host ops: the device ran none of them.
  EXPECT_EQ(simulated_device().allreduce_calls.load() + simulated_device().broadcast_calls.load() +
                simulated_device().allgather_calls.load(),
            device_calls_before);
}

TEST(DeviceTimeline, DeviceOpsEndTheirRowsFromTheFinalizerWhileHostOpsRun) {
  const int size = hvd::size();
  const std::string path =
      ::testing::TempDir() + "/hvd_device_timeline_np" + std::to_string(size) + ".json";
  hvd::start_timeline(path);
  // The trace's times count from a point before this.
  const auto timeline_origin_at_most = std::chrono::steady_clock::now();
  simulated_device().stream_delay_us = 5000;  // device ops end while the host op runs
  std::vector<DeviceAllreduce> all;
  std::vector<hvd::Handle> handles;
  for (int i = 0; i < 2; ++i) {
    DeviceAllreduce a;
    a.name = "dev.tl." + std::to_string(i);
    a.input = torch::ones({8});
    a.output = torch::zeros({8});
    all.push_back(a);
    handles.push_back(enqueue(a));
  }
  // Its input is written 100 ms after it is queued: its row shows WAIT_FOR_DATA until then.
  // (Another dtype, so it never fuses with the two above, whose inputs are ready at once.)
  hvd_test::SimulatedStream user_stream;
  user_stream.set_delay(std::chrono::milliseconds(100));
  DeviceAllreduce waits;
  waits.name = "dev.tl.waits";
  waits.input = torch::zeros({8}, torch::kFloat64);
  waits.output = torch::zeros({8}, torch::kFloat64);
  auto written_at = std::make_shared<std::atomic<std::chrono::steady_clock::rep>>(0);
  user_stream.enqueue([input = waits.input, written_at] {
    input.fill_(2);
    *written_at = std::chrono::steady_clock::now().time_since_epoch().count();
  });
  waits.ready = hvd_test::record_event(user_stream);
  handles.push_back(enqueue(waits));
  // A host op staged out of GPU memory (HOROVOD_GPU_OPERATIONS=MPI), its staging copy on the
  // same stream: its row waits too, on the background thread. (int32: it fuses with nothing.)
  DeviceAllreduce staged;
  staged.name = "host.tl.staged";
  staged.on_device = false;
  staged.input = torch::zeros({4}, torch::kInt32);
  staged.output = torch::zeros({4}, torch::kInt32);
  user_stream.enqueue([input = staged.input] { input.fill_(3); });
  staged.ready = hvd_test::record_event(user_stream);
  handles.push_back(enqueue(staged));
  DeviceAllreduce b;
  b.name = "dev.tl.bcast";
  b.input = torch::full({4}, hvd::rank(), torch::kInt32);
  b.output = b.input;
  handles.push_back(enqueue(b, hvd::OpType::Broadcast, my_device(), 0));
  const torch::Tensor host = hvd::allreduce(torch::ones({3}), ReduceOp::Sum, "host.tl");
  for (hvd::Handle h : handles)
    wait(h);
  simulated_device().stream_delay_us = 0;
  hvd::stop_timeline();
  EXPECT_TRUE(torch::equal(host, torch::full({3}, static_cast<float>(size))));
  EXPECT_TRUE(torch::equal(all[0].output, torch::full({8}, static_cast<float>(size))));
  EXPECT_TRUE(torch::equal(b.output, torch::zeros({4}, torch::kInt32)));
  EXPECT_TRUE(torch::equal(waits.output, torch::full({8}, 2.0 * size, torch::kFloat64)));
  EXPECT_TRUE(torch::equal(staged.output, torch::full({4}, 3 * size, torch::kInt32)));
  // The input was written this long after the trace's origin, at least.
  const double written_us =
      std::chrono::duration<double, std::micro>(
          std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(*written_at)) -
          timeline_origin_at_most)
          .count();
  if (hvd::rank() != 0)
    return;  // only rank 0 records
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  const hvd::test::Json trace = hvd::test::JsonReader::parse(text.str());
  ASSERT_EQ(trace.kind, hvd::test::Json::Kind::Array);
  for (const DeviceAllreduce& a : all) {
    EXPECT_EQ(
        row_events(trace, a.name),
        (std::vector<std::string>{"B:NEGOTIATE_ALLREDUCE", "E:NEGOTIATE_ALLREDUCE", "B:ALLREDUCE",
                                  "B:SIMULATED_ALLREDUCE", "E:SIMULATED_ALLREDUCE", "E:ALLREDUCE"}))
        << a.name;
  }
  EXPECT_EQ(
      row_events(trace, waits.name),
      (std::vector<std::string>{"B:NEGOTIATE_ALLREDUCE", "E:NEGOTIATE_ALLREDUCE", "B:ALLREDUCE",
                                "B:WAIT_FOR_DATA", "E:WAIT_FOR_DATA", "B:SIMULATED_ALLREDUCE",
                                "E:SIMULATED_ALLREDUCE", "E:ALLREDUCE"}));
  // It ends once the input was written (seen by the finalizer), not when the op was queued,
  // and not when the op completed: the device still had 5 ms or more of work after it.
  const double wait_ended_us = hvd_test::row_event_time(trace, waits.name, "E:WAIT_FOR_DATA");
  EXPECT_GE(wait_ended_us + 1, written_us)  // (the trace rounds down to whole us)
      << "WAIT_FOR_DATA ended before the input was written";
  EXPECT_GE(hvd_test::row_event_time(trace, waits.name, "E:SIMULATED_ALLREDUCE") - wait_ended_us,
            2000)
      << "WAIT_FOR_DATA ended only when the op completed";
  EXPECT_EQ(row_events(trace, staged.name),
            (std::vector<std::string>{"B:NEGOTIATE_ALLREDUCE", "E:NEGOTIATE_ALLREDUCE",
                                      "B:ALLREDUCE", "B:WAIT_FOR_DATA", "E:WAIT_FOR_DATA",
                                      "B:MPI_ALLREDUCE", "E:MPI_ALLREDUCE", "E:ALLREDUCE"}));
  EXPECT_GE(hvd_test::row_event_time(trace, staged.name, "E:WAIT_FOR_DATA") + 1, written_us);
  EXPECT_EQ(
      row_events(trace, b.name),
      (std::vector<std::string>{"B:NEGOTIATE_BROADCAST", "E:NEGOTIATE_BROADCAST", "B:BROADCAST",
                                "B:SIMULATED_BCAST", "E:SIMULATED_BCAST", "E:BROADCAST"}));
  EXPECT_EQ(
      row_events(trace, "host.tl"),
      (std::vector<std::string>{"B:NEGOTIATE_ALLREDUCE", "E:NEGOTIATE_ALLREDUCE", "B:ALLREDUCE",
                                "B:MPI_ALLREDUCE", "E:MPI_ALLREDUCE", "E:ALLREDUCE"}));
  std::remove(path.c_str());
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
  a.name = "dev.claims_the_device";
  a.input = torch::ones({4});
  a.output = torch::zeros({4});
  wait(enqueue(a));  // this rank's GPU ops now run on my_device()
  a.name = "dev.barrier";
  hvd_test::expect_error([&] { enqueue(a, hvd::OpType::Barrier); },
                         {"barrier 'dev.barrier'", "no tensor data"});
  a.name = "dev.other_gpu";
  hvd_test::expect_error(
      [&] { enqueue(a, hvd::OpType::Allreduce, my_device() + 1); },
      {"'dev.other_gpu'", "GPU " + std::to_string(my_device() + 1), "one GPU per rank"});
  expect_group_refused({my_device(), my_device() + 1}, "dev.split",
                       {"'dev.split[0]'", "'dev.split[1]'",
                        "GPU " + std::to_string(my_device() + 1), "one GPU per rank"});
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

// HVD_TEST_ONLY=DeviceJoinFirst: in a fresh process, every rank but 0 joins before it has
// queued anything for the GPU, so its plane is made by the response it only contributes
// zeros to, on the device the plane picks (the local rank); its later ops must use that one.
TEST(DeviceJoinFirst, AJoinedRankMakesItsPlaneOnTheDeviceThePlanePicks) {
  if (!chosen("DeviceJoinFirst"))
    GTEST_SKIP() << "runs alone: HVD_TEST_ONLY=DeviceJoinFirst";
  const std::vector<int64_t> shape = {21};
  // A name that stays in flight on every rank but 0 until rank 0 has passed the barrier.
  DeviceAllreduce pending;
  pending.name = "dev.pending";
  pending.input = torch::ones({5});
  pending.output = torch::zeros({5});
  pending.on_device = false;  // staged through host memory: claims no GPU
  hvd::Handle pending_handle = 0;
  if (hvd::rank() != 0) {
    // Refused as a whole, so it claims no GPU: the plane below still picks the device.
    const int local = hvd::local_rank();
    expect_group_refused({local + 1, local + 2}, "dev.refused",
                         {"'dev.refused[1]'", "one GPU per rank"});
    // Refused by the queue (its name is in flight), so it claims no GPU either.
    pending_handle = enqueue(pending);
    DeviceAllreduce same_name = pending;
    same_name.on_device = true;
    same_name.output = torch::zeros({5});
    hvd_test::expect_error([&] { enqueue(same_name, hvd::OpType::Allreduce, local + 1); },
                           {"'dev.pending'", "already in flight"});
    hvd::barrier();
  } else {
    hvd::barrier();
    pending_handle = enqueue(pending);
  }
  wait(pending_handle);
  EXPECT_TRUE(matches(pending.output, torch::full({5}, hvd::size(), torch::kFloat32)));
  if (hvd::rank() == 0) {
    DeviceAllreduce a;
    a.name = "dev.first_op";
    a.input = hvd_test::contribution(0, shape, torch::kFloat64);
    a.output = torch::zeros(shape, torch::kFloat64);
    wait(enqueue(a));
    EXPECT_TRUE(matches(a.output, a.input));
  }
  EXPECT_EQ(hvd::join(), 0);
  EXPECT_EQ(simulated_device().planes_made.load(), 1);
  EXPECT_EQ(simulated_device().plane_device.load(), hvd::local_rank());
  DeviceAllreduce b;
  b.name = "dev.on_another_gpu";
  b.input = torch::ones({2});
  b.output = torch::zeros({2});
  hvd_test::expect_error([&] { enqueue(b, hvd::OpType::Allreduce, hvd::local_rank() + 1); },
                         {"one GPU per rank"});
}

// HVD_TEST_ONLY=DeviceAutotune, with HOROVOD_AUTOTUNE=1 on two "hosts" and the hierarchical
// allreduce off at the start: device allreduces, checked every step, until every rank reports
// the search over. The search must have tried the hierarchical allreduce once (every rank
// switched, and allreduces took the hierarchical path), every rank must end with the same
// values, the ones rank 0's log chose, and the path an allreduce takes must then follow the
// chosen value.
TEST(DeviceAutotune, TriesTheHierarchicalAllreduceOnceAndEveryRankKeepsTheChoice) {
  if (!chosen("DeviceAutotune"))
    GTEST_SKIP() << "needs HOROVOD_AUTOTUNE=1 from init: HVD_TEST_ONLY=DeviceAutotune";
  ASSERT_GT(hvd::cross_size(), 1) << "run it with HVD_TEST_RANKS_PER_HOST";
  ASSERT_FALSE(hvd::stats().hierarchical_allreduce);
  const int size = hvd::size();
  const std::vector<std::vector<int64_t>> shapes = {{3}, {1000}, {257, 2}};
  bool saw_on = false, all_done = false;
  int steps = 0;
  const auto hierarchical_before = simulated_device().local_reducescatter_calls.load();
  while (!all_done && steps < 3000) {
    std::vector<DeviceAllreduce> all;
    std::vector<hvd::Handle> handles;
    for (size_t t = 0; t < shapes.size(); ++t) {
      DeviceAllreduce a;
      a.name = "dev.tune." + std::to_string(t);
      a.op = t == 1 ? ReduceOp::Max : ReduceOp::Sum;
      a.input = hvd_test::contribution(hvd::rank(), shapes[t], torch::kFloat32);
      a.output = torch::full(shapes[t], 7.0f);
      all.push_back(a);
      handles.push_back(enqueue(a));
    }
    for (size_t t = 0; t < all.size(); ++t) {
      wait(handles[t]);
      ASSERT_TRUE(matches(all[t].output, expected(all[t].op, size, shapes[t], torch::kFloat32)))
          << "step " << steps << " " << all[t].name;
      saw_on |= hvd::stats().hierarchical_allreduce;
    }
    const int done_here = hvd::stats().autotune_done ? 1 : 0;
    all_done =
        hvd::allreduce(torch::full({1}, done_here, torch::kInt32), ReduceOp::Min, "dev.tune.done")
            .item<int>() == 1;
    ++steps;
  }
  ASSERT_TRUE(all_done) << "autotuning did not finish in " << steps << " steps";
  EXPECT_TRUE(saw_on) << "the hierarchical trial never reached rank " << hvd::rank();
  EXPECT_GT(simulated_device().local_reducescatter_calls.load(), hierarchical_before)
      << "no allreduce took the hierarchical path during its trial";

  const hvd::Stats stats = hvd::stats();
  const auto mine =
      torch::tensor({stats.fusion_threshold_bytes, stats.cycle_time_us,
                     int64_t{stats.cache_enabled}, int64_t{stats.hierarchical_allreduce}},
                    torch::kInt64);
  const auto everyone = hvd::allgather(mine.unsqueeze(0), "dev.tune.values");
  for (int r = 0; r < size; ++r)
    EXPECT_TRUE(torch::equal(everyone[r], mine)) << "rank " << r << " differs";

  const auto local_before = simulated_device().local_reducescatter_calls.load();
  const auto flat_before = simulated_device().allreduce_calls.load();
  DeviceAllreduce after;
  after.name = "dev.tune.after";
  after.input = hvd_test::contribution(hvd::rank(), {100}, torch::kFloat32);
  after.output = torch::full({100}, 7.0f);
  wait(enqueue(after));
  EXPECT_TRUE(matches(after.output, expected(ReduceOp::Sum, size, {100}, torch::kFloat32)));
  EXPECT_EQ(simulated_device().local_reducescatter_calls.load() - local_before,
            stats.hierarchical_allreduce ? 1 : 0);
  EXPECT_EQ(simulated_device().allreduce_calls.load() - flat_before,
            stats.hierarchical_allreduce ? 0 : 1);

  if (hvd::rank() != 0)
    return;
  const hvd_test::AutotuneLog log = hvd_test::read_autotune_log();
  ASSERT_TRUE(log.error.empty()) << log.error;  // (autotune_test checks the header)
  int hierarchical_trials = 0, chosen_rows = 0;
  for (const std::vector<std::string>& fields : log.rows) {
    ASSERT_EQ(fields.size(), 9u);
    if (fields[1] == "trial" && fields[5] == "1")
      ++hierarchical_trials;
    if (fields[1] == "chosen") {
      ++chosen_rows;
      EXPECT_EQ(fields[5], stats.hierarchical_allreduce ? "1" : "0") << "trial " << fields[0];
    }
  }
  EXPECT_EQ(hierarchical_trials, 1);
  EXPECT_EQ(chosen_rows, 1);
}

// HVD_TEST_ONLY=DeviceShutdown: shutdown() while the (slow) device still runs queued ops
// waits for them, and their handles then complete with the results, after the runtime is
// gone (the finalizer stops before the plane is freed).
TEST(DeviceShutdown, WaitsForQueuedDeviceWorkAndCompletesIt) {
  if (!chosen("DeviceShutdown"))
    GTEST_SKIP() << "shuts the runtime down: HVD_TEST_ONLY=DeviceShutdown";
  simulated_device().stream_delay_us = 50000;  // 50 ms per step on the device
  const int size = hvd::size();
  const std::vector<int64_t> shape = {64};
  std::vector<DeviceAllreduce> all;
  std::vector<hvd::Handle> handles;
  // Different dtypes: four responses, four collectives.
  for (torch::ScalarType dtype : {torch::kFloat32, torch::kFloat64, torch::kInt32, torch::kInt64}) {
    DeviceAllreduce a;
    a.name = std::string("dev.at_shutdown.") + c10::toString(dtype);
    a.input = hvd_test::contribution(hvd::rank(), shape, dtype);
    a.output = torch::full(shape, 7, dtype);
    all.push_back(a);
    handles.push_back(enqueue(a));
  }
  // Once all four are queued on the device (and not before: queued ops that no round has
  // taken yet fail at shutdown instead), shut down.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (simulated_device().allreduce_calls.load() < 4) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  hvd::shutdown();
  for (size_t i = 0; i < all.size(); ++i) {
    wait(handles[i]);
    EXPECT_TRUE(
        matches(all[i].output, expected(ReduceOp::Sum, size, shape, all[i].input.scalar_type())))
        << all[i].name;
  }
}

// For the tests that end the job (ctest matches their output): a device allreduce, waited
// for, with any error printed rather than thrown, then a line that must not be reached.
void allreduce_printing_errors(const char* name) {
  DeviceAllreduce a;
  a.name = name;
  a.input = torch::ones({16});
  a.output = torch::zeros({16});
  try {
    wait(enqueue(a));
  } catch (const hvd::Error& e) {
    std::printf("rank %d: error %s\n", hvd::rank(), e.what());
  }
}

void print_not_aborted() {
  std::printf("rank %d: NOT ABORTED\n", hvd::rank());
  std::fflush(stdout);
}

// HVD_TEST_ONLY=DevicePlaneStartRace: rank 1 joins before it has queued anything for the
// GPU, so its plane is made on the device the plane picks; while it is made, an op on the next
// GPU is queued. The plane cannot serve it and the ranks no longer agree, so the job must end,
// naming both GPUs (ctest matches the output).
TEST(DevicePlaneStartRace, AnOpQueuedOnAnotherGpuWhileThePlaneIsMadeEndsTheJob) {
  if (!chosen("DevicePlaneStartRace"))
    GTEST_SKIP() << "ends the job: HVD_TEST_ONLY=DevicePlaneStartRace";
  if (hvd::rank() == 1) {
    simulated_device().queue_on_next_gpu_while_making_plane = true;
    hvd::join();
  } else {
    allreduce_printing_errors("dev.makes_the_planes");
  }
  print_not_aborted();
}

// HVD_TEST_ONLY=DeviceFailure: the last rank's device fails an allreduce. Its stream may
// still be using the tensors and the ranks no longer agree on what ran, so the job must end,
// naming the rank, the op and the GPU (ctest matches the output).
TEST(DeviceFailure, EndsTheJobNamingTheRankTheOpAndTheGpu) {
  if (!chosen("DeviceFailure"))
    GTEST_SKIP() << "ends the job: HVD_TEST_ONLY=DeviceFailure";
  if (hvd::rank() == hvd::size() - 1)
    simulated_device().fail_next_allreduce = true;
  allreduce_printing_errors("dev.fails");
  print_not_aborted();
}

}  // namespace
