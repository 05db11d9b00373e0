#include "horovod_cpp/settings.h"

#include <map>

#include <gtest/gtest.h>

namespace hvd {
namespace {

StatusOr<Settings> parse(const std::map<std::string, std::string>& env) {
  return Settings::from_environment([&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(SettingsTest, DefaultsWhenNothingIsSet) {
  auto s = parse({});
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s.value().fusion_threshold_bytes, 64LL * 1024 * 1024);
  EXPECT_EQ(s.value().cycle_time, std::chrono::microseconds(1000));
  EXPECT_EQ(s.value().stall_check_time, std::chrono::seconds(60));
  EXPECT_EQ(s.value().stall_shutdown_time, std::chrono::seconds(0));
  EXPECT_EQ(s.value().log_level, LogLevel::Warning);
  EXPECT_TRUE(s.value().timeline_path.empty());
  EXPECT_TRUE(s.value().malloc_tuning);
  EXPECT_TRUE(s.value().gpu_operations_nccl);
  EXPECT_FALSE(s.value().hierarchical_allreduce);
}

TEST(SettingsTest, ReadsEveryVariable) {
  auto s = parse({{"HOROVOD_FUSION_THRESHOLD", "1048576"},
                  {"HOROVOD_CYCLE_TIME", "2.5"},
                  {"HOROVOD_TIMELINE", "/tmp/t.json"},
                  {"HOROVOD_TIMELINE_MARK_CYCLES", "1"},
                  {"HOROVOD_AUTOTUNE", "1"},
                  {"HOROVOD_AUTOTUNE_LOG", "/tmp/at.csv"},
                  {"HOROVOD_AUTOTUNE_WARMUP_SAMPLES", "0"},
                  {"HOROVOD_AUTOTUNE_STEPS_PER_SAMPLE", "25"},
                  {"HOROVOD_STALL_CHECK_TIME_SECONDS", "7"},
                  {"HOROVOD_STALL_SHUTDOWN_TIME_SECONDS", "30"},
                  {"HOROVOD_STALL_CHECK_DISABLE", "1"},
                  {"HOROVOD_GPU_OPERATIONS", "mpi"},
                  {"HOROVOD_HIERARCHICAL_ALLREDUCE", "1"},
                  {"HOROVOD_LOG_LEVEL", "INFO"}});
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s.value().fusion_threshold_bytes, 1048576);
  EXPECT_EQ(s.value().cycle_time, std::chrono::microseconds(2500));
  EXPECT_EQ(s.value().timeline_path, "/tmp/t.json");
  EXPECT_EQ(s.value().stall_check_time, std::chrono::seconds(7));
  EXPECT_EQ(s.value().stall_shutdown_time, std::chrono::seconds(30));
  EXPECT_TRUE(s.value().stall_check_disabled);
  EXPECT_EQ(s.value().log_level, LogLevel::Info);
  EXPECT_TRUE(s.value().timeline_mark_cycles);
  EXPECT_TRUE(s.value().autotune);
  EXPECT_EQ(s.value().autotune_log_path, "/tmp/at.csv");
  EXPECT_EQ(s.value().autotune_warmup_samples, 0);
  EXPECT_EQ(s.value().autotune_steps_per_sample, 25);
  EXPECT_FALSE(s.value().gpu_operations_nccl);
  EXPECT_TRUE(s.value().hierarchical_allreduce);
}

TEST(SettingsTest, GpuOperationsOtherThanNcclOrMpiAreAnError) {
  auto s = parse({{"HOROVOD_GPU_OPERATIONS", "gloo"}});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("HOROVOD_GPU_OPERATIONS='gloo': expected NCCL or MPI"),
            std::string::npos)
      << s.status().message();
  EXPECT_TRUE(parse({{"HOROVOD_GPU_OPERATIONS", "NCCL"}}).value().gpu_operations_nccl);
}

struct BadValue {
  const char* variable;
  const char* value;
};

class SettingsBadValueTest : public ::testing::TestWithParam<BadValue> {};

TEST_P(SettingsBadValueTest, IsAnErrorNamingVariableAndValue) {
  const BadValue bad = GetParam();
  auto s = parse({{bad.variable, bad.value}});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find(bad.variable), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find(std::string("'") + bad.value + "'"), std::string::npos)
      << s.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, SettingsBadValueTest,
    ::testing::Values(
        BadValue{"HOROVOD_FUSION_THRESHOLD", "abc"}, BadValue{"HOROVOD_FUSION_THRESHOLD", "-1"},
        BadValue{"HOROVOD_FUSION_THRESHOLD", "12MB"}, BadValue{"HOROVOD_FUSION_THRESHOLD", ""},
        BadValue{"HOROVOD_FUSION_THRESHOLD", "99999999999999999999999"},
        BadValue{"HOROVOD_FUSION_THRESHOLD", "68719476737"}, BadValue{"HOROVOD_CYCLE_TIME", "fast"},
        BadValue{"HOROVOD_CYCLE_TIME", "-0.5"}, BadValue{"HOROVOD_CYCLE_TIME", "nan"},
        BadValue{"HOROVOD_CYCLE_TIME", "1e9"}, BadValue{"HOROVOD_STALL_CHECK_TIME_SECONDS", "1.5"},
        BadValue{"HOROVOD_STALL_SHUTDOWN_TIME_SECONDS", "-3"},
        BadValue{"HOROVOD_STALL_CHECK_DISABLE", "maybe"}, BadValue{"HOROVOD_LOG_LEVEL", "loud"},
        BadValue{"HOROVOD_TIMELINE_MARK_CYCLES", "often"},
        BadValue{"HOROVOD_HIERARCHICAL_ALLREDUCE", "yes please"},
        BadValue{"HOROVOD_AUTOTUNE", "yes please"},
        BadValue{"HOROVOD_AUTOTUNE_STEPS_PER_SAMPLE", "0"},
        BadValue{"HOROVOD_AUTOTUNE_WARMUP_SAMPLES", "-1"},
        BadValue{"HOROVOD_MALLOC_TUNING", "yes please"}));

TEST(SettingsTest, DescribeGivesUnits) {
  auto s = parse({});
  ASSERT_TRUE(s.is_ok());
  const std::string text = s.value().describe();
  EXPECT_NE(text.find("HOROVOD_FUSION_THRESHOLD = 67108864 bytes (64 MiB)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("HOROVOD_CYCLE_TIME = 1 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("HOROVOD_STALL_CHECK_TIME_SECONDS = 60 s"), std::string::npos) << text;
}

TEST(SharedSettingsTest, EqualValuesAgreeAndADifferenceNamesSettingRanksAndValues) {
  const std::vector<const char*> names = {"HOROVOD_FUSION_THRESHOLD", "HOROVOD_CACHE_CAPACITY"};
  EXPECT_TRUE(check_shared_settings(names, {{64, 8}, {64, 8}, {64, 8}}).is_ok());
  EXPECT_TRUE(check_shared_settings(names, {{64, 8}}).is_ok());
  const Status differs = check_shared_settings(names, {{64, 8}, {64, 0}, {64, 8}, {64, 8}});
  ASSERT_FALSE(differs.is_ok());
  EXPECT_NE(differs.message().find(
                "HOROVOD_CACHE_CAPACITY differs between ranks: rank 1 has 0; ranks 0, 2-3 have 8"),
            std::string::npos)
      << differs.message();
}

TEST(SharedSettingsTest, CoverFusionCacheAutotuneGpuOperationsAndHierarchy) {
  Settings settings;
  settings.fusion_threshold_bytes = 123;
  settings.cache_capacity = 7;
  settings.autotune = true;
  settings.gpu_operations_nccl = false;
  settings.hierarchical_allreduce = true;
  std::vector<std::pair<std::string, std::int64_t>> shared;
  for (const Settings::Shared& s : settings.shared())
    shared.emplace_back(s.name, s.value);
  EXPECT_EQ(shared, (std::vector<std::pair<std::string, std::int64_t>>{
                        {"HOROVOD_FUSION_THRESHOLD", 123},
                        {"HOROVOD_CACHE_CAPACITY", 7},
                        {"HOROVOD_AUTOTUNE", 1},
                        {"HOROVOD_GPU_OPERATIONS (1 = NCCL, 0 = MPI)", 0},
                        {"HOROVOD_HIERARCHICAL_ALLREDUCE", 1}}));
}

}  // namespace
}  // namespace hvd
