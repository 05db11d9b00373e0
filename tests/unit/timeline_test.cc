#include "horovod_cpp/timeline.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "json_reader.h"

namespace hvd {
namespace {

using test::Json;
using test::JsonReader;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string temp_path(const char* name) {
  return ::testing::TempDir() + "/" + name;
}

// Events by phase and name, for the row named `tensor`.
std::vector<std::string> row_events(const Json& trace, const std::string& tensor) {
  double pid = -1;
  for (const Json& e : trace.array) {
    if (e.at("ph").string == "M" && e.at("name").string == "process_name" &&
        e.at("args").at("name").string == tensor)
      pid = e.at("pid").number;
  }
  std::vector<std::string> out;
  for (const Json& e : trace.array) {
    if (e.at("ph").string != "M" && e.has("pid") && e.at("pid").number == pid && pid > 0)
      out.push_back(e.at("ph").string + ":" + e.at("name").string);
  }
  return out;
}

TEST(TimelineTest, WritesAChromeTraceWithOneRowPerTensor) {
  const std::string path = temp_path("timeline_test.json");
  Timeline timeline;
  ASSERT_TRUE(timeline.start(path, /*mark_cycles=*/true).is_ok());
  const std::string odd = "layer\"1\"\\weight\n";  // quotes, backslash, control character
  timeline.mark_cycle();
  timeline.begin("a", "NEGOTIATE_ALLREDUCE");
  timeline.begin(odd, "NEGOTIATE_ALLREDUCE");
  timeline.end("a", "NEGOTIATE_ALLREDUCE");
  timeline.begin("a", "ALLREDUCE");
  timeline.begin("a", "MPI_ALLREDUCE");
  timeline.end("a", "MPI_ALLREDUCE");
  timeline.end("a", "ALLREDUCE");
  timeline.end(odd, "NEGOTIATE_ALLREDUCE");
  timeline.mark_cycle();
  EXPECT_EQ(timeline.stop(), 0);
  timeline.begin("a", "AFTER_STOP");  // ignored

  const Json trace = JsonReader::parse(read_file(path));
  ASSERT_EQ(trace.kind, Json::Kind::Array);
  EXPECT_EQ(
      row_events(trace, "a"),
      (std::vector<std::string>{"B:NEGOTIATE_ALLREDUCE", "E:NEGOTIATE_ALLREDUCE", "B:ALLREDUCE",
                                "B:MPI_ALLREDUCE", "E:MPI_ALLREDUCE", "E:ALLREDUCE"}));
  EXPECT_EQ(row_events(trace, odd),
            (std::vector<std::string>{"B:NEGOTIATE_ALLREDUCE", "E:NEGOTIATE_ALLREDUCE"}));
  int cycles = 0;
  double last_ts = -1;
  for (const Json& e : trace.array) {
    cycles += e.at("name").string == "CYCLE_START";
    if (e.at("ph").string == "B" || e.at("ph").string == "E") {
      EXPECT_GE(e.at("ts").number, last_ts) << "timestamps never go back";
      last_ts = e.at("ts").number;
    }
  }
  EXPECT_EQ(cycles, 2);
  std::remove(path.c_str());
}

TEST(TimelineTest, CyclesAreMarkedOnlyWhenAskedAndRestartReplacesTheFile) {
  const std::string path = temp_path("timeline_test_cycles.json");
  Timeline timeline;
  ASSERT_TRUE(timeline.start(path, false).is_ok());
  timeline.mark_cycle();
  timeline.begin("first", "X");
  timeline.stop();
  ASSERT_TRUE(timeline.start(path, false).is_ok());
  timeline.begin("second", "X");
  timeline.stop();
  const Json trace = JsonReader::parse(read_file(path));
  EXPECT_TRUE(row_events(trace, "first").empty());
  EXPECT_EQ(row_events(trace, "second"), (std::vector<std::string>{"B:X"}));
  for (const Json& e : trace.array)
    EXPECT_NE(e.at("name").string, "CYCLE_START");
  std::remove(path.c_str());
}

TEST(TimelineTest, FullQueueDropsAndCountsInsteadOfBlocking) {
  const std::string path = temp_path("timeline_test_drops.json");
  Timeline timeline(/*queue_capacity=*/4);
  ASSERT_TRUE(timeline.start(path, false).is_ok());
  const int pushed = 20000;
  for (int i = 0; i < pushed; ++i)
    timeline.begin("t", "X");
  const std::int64_t dropped = timeline.stop();
  const Json trace = JsonReader::parse(read_file(path));
  const auto written = static_cast<std::int64_t>(row_events(trace, "t").size());
  EXPECT_EQ(written + dropped, pushed);
  if (dropped > 0) {
    bool reported = false;
    for (const Json& e : trace.array) {
      if (e.at("name").string == "TIMELINE_DROPPED")
        reported = e.at("args").at("records").number == static_cast<double>(dropped);
    }
    EXPECT_TRUE(reported) << "the file says how many records it lost";
  }
  std::remove(path.c_str());
}

TEST(TimelineTest, DroppingKeepsEveryRowsSpansBalanced) {
  const std::string path = temp_path("timeline_test_balanced.json");
  Timeline timeline(/*queue_capacity=*/3);
  ASSERT_TRUE(timeline.start(path, false).is_ok());
  const int spans = 5000;
  for (int i = 0; i < spans; ++i) {
    const std::string tensor = "t" + std::to_string(i % 3);
    timeline.begin(tensor, "OUTER");
    timeline.begin(tensor, "INNER");
    timeline.end(tensor, "INNER");
    timeline.end(tensor, "OUTER");
  }
  const std::int64_t dropped = timeline.stop();
  const Json trace = JsonReader::parse(read_file(path));
  std::int64_t written = 0;
  for (const char* tensor : {"t0", "t1", "t2"}) {
    std::vector<std::string> open;  // a stack of span names, as a trace viewer keeps it
    for (const std::string& event : row_events(trace, tensor)) {
      ++written;
      const std::string name = event.substr(2);
      if (event[0] == 'B') {
        open.push_back(name);
      } else {
        ASSERT_FALSE(open.empty()) << tensor << ": " << event << " ends nothing";
        ASSERT_EQ(open.back(), name) << tensor << ": " << event << " ends the wrong span";
        open.pop_back();
      }
    }
    EXPECT_TRUE(open.empty()) << tensor << ": " << open.size() << " spans never end";
  }
  EXPECT_EQ(written + dropped, 4 * spans);
  std::remove(path.c_str());
}

TEST(TimelineTest, RecordsReachTheFileWhileRecording) {
  // A process that dies never calls stop(); what was recorded must already be on disk.
  const std::string path = temp_path("timeline_test_flushed.json");
  Timeline timeline;
  ASSERT_TRUE(timeline.start(path, false).is_ok());
  timeline.begin("early_tensor", "ALLREDUCE");
  bool on_disk = false;
  for (int i = 0; i < 200 && !on_disk; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    on_disk = read_file(path).find("early_tensor") != std::string::npos;
  }
  EXPECT_TRUE(on_disk) << "the record is still buffered after 2 s";
  timeline.stop();
  std::remove(path.c_str());
}

TEST(TimelineTest, ErrorsNameTheProblem) {
  Timeline timeline;
  Status bad = timeline.start("/nonexistent-dir/t.json", false);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.message(), "cannot write the timeline file '/nonexistent-dir/t.json'");
  EXPECT_FALSE(timeline.active());
  const std::string path = temp_path("timeline_test_stop.json");
  ASSERT_TRUE(timeline.start(path, false).is_ok());
  EXPECT_EQ(timeline.stop(), 0);
  EXPECT_EQ(timeline.stop(), 0);  // idempotent
  std::remove(path.c_str());
}

TEST(TimelineTest, StartingWhileRecordingGoesOnInTheSameFileOrMovesToAnother) {
  const std::string first = temp_path("timeline_test_first.json");
  const std::string second = temp_path("timeline_test_second.json");
  Timeline timeline;
  auto span = [&](const char* tensor, const char* activity) {
    timeline.begin(tensor, activity);
    timeline.end(tensor, activity);
  };
  ASSERT_TRUE(timeline.start(first, false).is_ok());
  span("a", "ONE");
  ASSERT_TRUE(timeline.start(first, true).is_ok());  // the same file: goes on
  EXPECT_TRUE(timeline.marking_cycles());
  span("a", "TWO");
  Status unwritable = timeline.start("/nonexistent-dir/t.json", false);
  EXPECT_EQ(unwritable.message(), "cannot write the timeline file '/nonexistent-dir/t.json'");
  EXPECT_TRUE(timeline.active()) << "a path that cannot be written stops nothing";
  span("a", "THREE");
  ASSERT_TRUE(timeline.start(second, false).is_ok());  // another file: takes over
  EXPECT_FALSE(timeline.marking_cycles());
  span("b", "FOUR");
  EXPECT_EQ(timeline.stop(), 0);

  const Json one = JsonReader::parse(read_file(first));  // finished: strict JSON
  EXPECT_EQ(row_events(one, "a"),
            (std::vector<std::string>{"B:ONE", "E:ONE", "B:TWO", "E:TWO", "B:THREE", "E:THREE"}));
  EXPECT_TRUE(row_events(one, "b").empty());
  const Json two = JsonReader::parse(read_file(second));
  EXPECT_EQ(row_events(two, "b"), (std::vector<std::string>{"B:FOUR", "E:FOUR"}));
  EXPECT_TRUE(row_events(two, "a").empty());
  std::remove(first.c_str());
  std::remove(second.c_str());
}

}  // namespace
}  // namespace hvd
