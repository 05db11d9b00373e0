// The timeline through the real runtime: rank 0 writes one Chrome trace for a known sequence
// of ops (a single allreduce, a fused group, an allgather, a broadcast), which must parse as
// JSON and show each op's negotiation, execution and MPI call, in order, on its own row.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "../unit/json_reader.h"
#include "horovod_cpp/torch.h"
#include "timeline_rows.h"

namespace {

using hvd::test::Json;
using hvd::test::JsonReader;
using hvd_test::row_events;

TEST(TimelineTest, RankZeroRecordsEveryStepOfAKnownSequence) {
  const int rank = hvd::rank(), size = hvd::size();
  const std::string path =
      ::testing::TempDir() + "/hvd_timeline_np" + std::to_string(size) + ".json";
  hvd::start_timeline(path, /*mark_cycles=*/true);
  // As in Horovod, no rank's second start is an error: rank 0 goes on in the same file.
  EXPECT_NO_THROW(hvd::start_timeline(path, /*mark_cycles=*/true));
  auto single = hvd::allreduce(torch::ones({4}), hvd::ReduceOp::Sum, "tl.single");
  auto group = hvd::grouped_allreduce({torch::ones({3}), torch::ones({5}), torch::ones({7})},
                                      hvd::ReduceOp::Sum, "tl.group");
  auto gathered = hvd::allgather(torch::ones({2, 2}), "tl.gather");
  auto root = hvd::broadcast(torch::full({3}, rank), 0, "tl.bcast");
  hvd::stop_timeline();
  EXPECT_TRUE(torch::equal(single, torch::full({4}, size, torch::kFloat32)));
  EXPECT_TRUE(torch::equal(root, torch::zeros({3}, torch::kFloat32)));
  if (rank != 0) {
    SUCCEED() << "only rank 0 writes the timeline";
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  const Json trace = JsonReader::parse(text.str());
  ASSERT_EQ(trace.kind, Json::Kind::Array);

  EXPECT_EQ(
      row_events(trace, "tl.single"),
      (std::vector<std::string>{"B:NEGOTIATE_ALLREDUCE", "E:NEGOTIATE_ALLREDUCE", "B:ALLREDUCE",
                                "B:MPI_ALLREDUCE", "E:MPI_ALLREDUCE", "E:ALLREDUCE"}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(row_events(trace, "tl.group[" + std::to_string(i) + "]"),
              (std::vector<std::string>{"B:NEGOTIATE_ALLREDUCE", "E:NEGOTIATE_ALLREDUCE",
                                        "B:ALLREDUCE", "B:MEMCPY_IN_FUSION_BUFFER",
                                        "E:MEMCPY_IN_FUSION_BUFFER", "B:MPI_ALLREDUCE",
                                        "E:MPI_ALLREDUCE", "B:MEMCPY_OUT_FUSION_BUFFER",
                                        "E:MEMCPY_OUT_FUSION_BUFFER", "E:ALLREDUCE"}))
        << "member " << i << " ran fused";
  }
  EXPECT_EQ(
      row_events(trace, "tl.gather"),
      (std::vector<std::string>{"B:NEGOTIATE_ALLGATHER", "E:NEGOTIATE_ALLGATHER", "B:ALLGATHER",
                                "B:MPI_ALLGATHER", "E:MPI_ALLGATHER", "E:ALLGATHER"}));
  EXPECT_EQ(row_events(trace, "tl.bcast"),
            (std::vector<std::string>{"B:NEGOTIATE_BROADCAST", "E:NEGOTIATE_BROADCAST",
                                      "B:BROADCAST", "B:MPI_BCAST", "E:MPI_BCAST", "E:BROADCAST"}));
  int cycles = 0;
  for (const Json& e : trace.array)
    cycles += e.at("name").string == "CYCLE_START";
  EXPECT_GE(cycles, 4) << "one round at least per op";
  std::remove(path.c_str());
}

}  // namespace
