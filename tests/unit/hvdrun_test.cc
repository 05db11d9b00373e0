// hvdrun's parsing and the mpirun command it builds, without launching anything.
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "horovod_cpp/launcher_checkin.h"
#include "launcher/mpirun_command.h"

namespace hvd {
namespace {

CommandLine parse(std::vector<std::string> args) {
  return parse_command_line(args);
}

void expect_usage_error(const std::vector<std::string>& args, const std::string& fragment) {
  const CommandLine line = parse(args);
  EXPECT_FALSE(line.launch);
  EXPECT_EQ(line.exit_code, 2);
  EXPECT_NE(line.message.find(fragment), std::string::npos)
      << "message '" << line.message << "' lacks '" << fragment << "'";
}

TEST(HostListTest, ParsesHostsAndSlots) {
  auto hosts = parse_host_list("a:4,b.example.com:2,c");
  ASSERT_TRUE(hosts.is_ok()) << hosts.status().message();
  EXPECT_EQ(hosts.value(), (std::vector<HostSlots>{{"a", 4}, {"b.example.com", 2}, {"c", 1}}));
  EXPECT_EQ(total_slots(hosts.value()), 7);
  EXPECT_EQ(format_host_list(hosts.value()), "a:4,b.example.com:2,c:1");
  auto v6 = parse_host_list("[fd00::1]:2");
  ASSERT_TRUE(v6.is_ok()) << v6.status().message();
  EXPECT_EQ(v6.value(), (std::vector<HostSlots>{{"[fd00::1]", 2}}));
}

TEST(HostListTest, MalformedEntriesNameTheEntry) {
  for (const auto& [list, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"a:4,b:x", "-H entry 2 'b:x': slots 'x' is not a number"},
           {"a:0", "slots '0' is not a number from 1"},
           {"a:-1", "slots '-1'"},
           {"a:99999999999", "slots '99999999999'"},
           {"a:4,,b:2", "-H entry 2 '': '' is not a host name"},
           {"a b:2", "'a b' is not a host name"},
           {"a:2,", "expected host:slots"},
       }) {
    auto hosts = parse_host_list(list);
    ASSERT_FALSE(hosts.is_ok()) << list;
    EXPECT_NE(hosts.status().message().find(fragment), std::string::npos)
        << hosts.status().message();
  }
}

TEST(HostListTest, HostfileInBothFormsWithCommentsAndLineNumbersInErrors) {
  auto hosts = parse_hostfile("# cluster\nhostA slots=2\n\nhostB:3  # fast\nhostC\n", "hf");
  ASSERT_TRUE(hosts.is_ok()) << hosts.status().message();
  EXPECT_EQ(hosts.value(), (std::vector<HostSlots>{{"hostA", 2}, {"hostB", 3}, {"hostC", 1}}));
  for (const auto& [text, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"a slots=2\nb slots=two\n", "hf line 2 'b slots=two': slots 'two'"},
           {"a\nb cpus=2\n", "hf line 2 'b cpus=2': expected 'host slots=N' or 'host:N'"},
           {"a slots=2 extra\n", "hf line 1 'a slots=2 extra': expected"},
           {"a:2 slots=2\n", "hf line 1"},
           {"# nothing\n\n", "hf lists no hosts"},
       }) {
    auto parsed = parse_hostfile(text, "hf");
    ASSERT_FALSE(parsed.is_ok()) << text;
    EXPECT_NE(parsed.status().message().find(fragment), std::string::npos)
        << parsed.status().message();
  }
}

TEST(CommandLineTest, HorovodStyleArguments) {
  const CommandLine line = parse({"-np", "4", "-H", "a:2,b:2", "./train", "--epochs", "3"});
  ASSERT_TRUE(line.launch) << line.message;
  EXPECT_EQ(line.options.num_proc, 4);
  EXPECT_EQ(line.options.hosts, (std::vector<HostSlots>{{"a", 2}, {"b", 2}}));
  // Options after the program are the program's, even ones hvdrun also has.
  EXPECT_EQ(line.options.command, (std::vector<std::string>{"./train", "--epochs", "3"}));
  const CommandLine dashed = parse({"--num-proc", "2", "--", "./train", "-np", "9", "--verbose"});
  ASSERT_TRUE(dashed.launch) << dashed.message;
  EXPECT_EQ(dashed.options.command, (std::vector<std::string>{"./train", "-np", "9", "--verbose"}));
  EXPECT_FALSE(dashed.options.verbose);
  EXPECT_EQ(dashed.options.hosts, (std::vector<HostSlots>{{"localhost", 2}}));
}

TEST(CommandLineTest, SettingsBecomeHorovodVariables) {
  const CommandLine line = parse({"-np",
                                  "2",
                                  "--fusion-threshold-mb",
                                  "32",
                                  "--cycle-time-ms",
                                  "2.5",
                                  "--cache-capacity",
                                  "0",
                                  "--timeline-filename",
                                  "/tmp/t.json",
                                  "--timeline-mark-cycles",
                                  "--autotune",
                                  "--autotune-log-file",
                                  "at.csv",
                                  "--hierarchical-allreduce",
                                  "--log-level",
                                  "info",
                                  "--stall-check-warning-time-seconds",
                                  "30",
                                  "--stall-check-shutdown-time-seconds",
                                  "90",
                                  "./train"});
  ASSERT_TRUE(line.launch) << line.message;
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"HOROVOD_FUSION_THRESHOLD", "33554432"},
      {"HOROVOD_CYCLE_TIME", "2.5"},
      {"HOROVOD_CACHE_CAPACITY", "0"},
      {"HOROVOD_TIMELINE", "/tmp/t.json"},
      {"HOROVOD_TIMELINE_MARK_CYCLES", "1"},
      {"HOROVOD_AUTOTUNE", "1"},
      {"HOROVOD_AUTOTUNE_LOG", "at.csv"},
      {"HOROVOD_HIERARCHICAL_ALLREDUCE", "1"},
      {"HOROVOD_LOG_LEVEL", "info"},
      {"HOROVOD_STALL_CHECK_TIME_SECONDS", "30"},
      {"HOROVOD_STALL_SHUTDOWN_TIME_SECONDS", "90"},
  };
  EXPECT_EQ(line.options.settings, expected);
}

TEST(CommandLineTest, BadUsageIsExitCodeTwoWithAMessage) {
  expect_usage_error({"./train"}, "--num-proc is required");
  expect_usage_error({"-np", "2"}, "no program to run");
  expect_usage_error({"-np", "2", "--bogus", "./train"}, "unknown option '--bogus'");
  expect_usage_error({"-np", "0", "./train"}, "--num-proc");
  expect_usage_error({"-np", "two", "./train"}, "--num-proc");
  expect_usage_error({"-np", "5", "-H", "a:2,b:2", "./train"},
                     "-np 5 is more than the 4 slots of a:2,b:2");
  expect_usage_error({"-np", "2", "-H", "a:x", "./train"}, "-H entry 1 'a:x'");
  expect_usage_error({"-np", "2", "--hostfile", "/nonexistent/hf", "./train"},
                     "cannot read hostfile '/nonexistent/hf'");
  expect_usage_error({"-np", "2", "-H", "a:2", "--hostfile", "hf", "./train"}, "excludes");
  expect_usage_error({"-np", "2", "--cache-capacity", "70000", "./train"}, "--cache-capacity");
  expect_usage_error({"-np", "2", "--log-level", "loud", "./train"}, "--log-level");
  expect_usage_error({"-np", "2", "-x", "BAD-NAME=1", "./train"}, "-x 'BAD-NAME=1'");
  expect_usage_error({"-np", "2", "-x", "1A", "./train"}, "-x '1A'");
  expect_usage_error({"-np", "2", "-x", "=1", "./train"}, "-x '=1'");
}

TEST(CommandLineTest, StartTimeoutIsPositiveSeconds) {
  const CommandLine line = parse({"-np", "2", "--start-timeout", "2.5", "./train"});
  ASSERT_TRUE(line.launch) << line.message;
  EXPECT_EQ(line.options.start_timeout_seconds, 2.5);
  EXPECT_EQ(parse({"-np", "2", "./train"}).options.start_timeout_seconds, 0);
  expect_usage_error({"-np", "2", "--start-timeout", "0", "./train"}, "--start-timeout");
  expect_usage_error({"-np", "2", "--start-timeout", "soon", "./train"}, "--start-timeout");
}

TEST(LauncherCheckinTest, AddressRoundTripsAndMalformedOnesAreRefused) {
  const CheckinAddress address{"0123abcd", {"10.0.0.5", "127.0.0.1"}, 40123};
  const std::string text = format_checkin_address(address);
  EXPECT_EQ(text, "0123abcd@10.0.0.5,127.0.0.1:40123");
  CheckinAddress parsed;
  ASSERT_TRUE(parse_checkin_address(text, &parsed));
  EXPECT_EQ(parsed.token, address.token);
  EXPECT_EQ(parsed.hosts, address.hosts);
  EXPECT_EQ(parsed.port, address.port);
  for (const char* bad :
       {"", "tok", "@1.2.3.4:5", "tok@:5", "tok@1.2.3.4", "tok@1.2.3.4:", "tok@1.2.3.4:x",
        "tok@1.2.3.4:0", "tok@1.2.3.4:70000", "tok@a,,b:5", "tok@1.2.3.4:123456"}) {
    EXPECT_FALSE(parse_checkin_address(bad, &parsed)) << bad;
  }
  EXPECT_EQ(checkin_message(kCheckinArrived, "tok", 3), "horovod_cpp arrived tok 3\n");
  EXPECT_EQ(checkin_message(kCheckinStarted, "tok", 4), "horovod_cpp started tok 4\n");
}

TEST(CommandLineTest, HostfileIsReadWithLineNumbers) {
  const std::string path = ::testing::TempDir() + "/hvdrun_test_hostfile";
  {
    std::ofstream out(path);
    out << "a slots=2\nb slots=2\nc slots=oops\n";
  }
  expect_usage_error({"-np", "2", "--hostfile", path, "./train"}, path + " line 3 'c slots=oops'");
  {
    std::ofstream out(path);
    out << "a slots=2\nb slots=2\n";
  }
  const CommandLine line = parse({"-np", "4", "--hostfile", path, "./train"});
  ASSERT_TRUE(line.launch) << line.message;
  EXPECT_EQ(line.options.hosts, (std::vector<HostSlots>{{"a", 2}, {"b", 2}}));
  std::remove(path.c_str());
}

TEST(CommandLineTest, HelpAndVersionExitZero) {
  const CommandLine help = parse({"--help"});
  EXPECT_FALSE(help.launch);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.message.find("--fusion-threshold-mb"), std::string::npos);
  EXPECT_NE(help.message.find("hvdrun -np 4 ./train"), std::string::npos);
  const CommandLine version = parse({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.message.find("hvdrun (horovod_cpp) "), std::string::npos);
}

TEST(MpirunCommandTest, LocalRunAsRoot) {
  const CommandLine line = parse({"-np", "2", "./train", "--lr", "0.1"});
  ASSERT_TRUE(line.launch);
  LaunchEnvironment env{true, {"HOME", "PATH", "HOROVOD_CYCLE_TIME", "NCCL_DEBUG", "TERM"}};
  EXPECT_EQ(build_mpirun_argv(line.options, env), (std::vector<std::string>{"mpirun",
                                                                            "--allow-run-as-root",
                                                                            "-np",
                                                                            "2",
                                                                            "-H",
                                                                            "localhost:2",
                                                                            "--map-by",
                                                                            "slot",
                                                                            "--bind-to",
                                                                            "none",
                                                                            "--tag-output",
                                                                            "-x",
                                                                            "HOROVOD_CYCLE_TIME",
                                                                            "-x",
                                                                            "NCCL_DEBUG",
                                                                            "-x",
                                                                            "PATH",
                                                                            "./train",
                                                                            "--lr",
                                                                            "0.1"}));
}

TEST(MpirunCommandTest, HostsSettingsAndEnvironment) {
  const CommandLine line = parse({"-np",
                                  "6",
                                  "-H",
                                  "a:4,b:4",
                                  "--oversubscribe",
                                  "--output-filename",
                                  "logs",
                                  "--network-interface",
                                  "eth1",
                                  "--cycle-time-ms",
                                  "5",
                                  "-x",
                                  "OMP_NUM_THREADS=4",
                                  "-x",
                                  "HOROVOD_LOG_LEVEL",
                                  "--mpi-args",
                                  "--mca plm_rsh_agent /x/agent",
                                  "--no-tag-output",
                                  "--",
                                  "/bin/train"});
  ASSERT_TRUE(line.launch) << line.message;
  // HOROVOD_CYCLE_TIME is set by an option, so the inherited one is not forwarded as well.
  LaunchEnvironment env{false, {"HOROVOD_CYCLE_TIME", "HOROVOD_LOG_LEVEL", "LD_LIBRARY_PATH"}};
  EXPECT_EQ(build_mpirun_argv(line.options, env, "/usr/bin/mpirun"),
            (std::vector<std::string>{"/usr/bin/mpirun",
                                      "-np",
                                      "6",
                                      "-H",
                                      "a:4,b:4",
                                      "--map-by",
                                      "slot",
                                      "--bind-to",
                                      "none",
                                      "--oversubscribe",
                                      "--output-filename",
                                      "logs",
                                      "--mca",
                                      "btl_tcp_if_include",
                                      "eth1",
                                      "--mca",
                                      "oob_tcp_if_include",
                                      "eth1",
                                      "-x",
                                      "LD_LIBRARY_PATH",
                                      "-x",
                                      "HOROVOD_CYCLE_TIME=5",
                                      "-x",
                                      "OMP_NUM_THREADS=4",
                                      "-x",
                                      "HOROVOD_LOG_LEVEL",
                                      "--mca",
                                      "plm_rsh_agent",
                                      "/x/agent",
                                      "/bin/train"}));
}

TEST(MpirunCommandTest, ShellQuotingReadsBackTheSame) {
  EXPECT_EQ(shell_quote({"mpirun", "-x", "A=b c", "it's", "", "plain-1.0/x"}),
            "mpirun -x 'A=b c' 'it'\\''s' '' plain-1.0/x");
}

TEST(MpirunCommandTest, LaunchChecksNameWhatIsMissing) {
  LaunchOptions options;
  options.command = {"/nonexistent/train"};
  std::string mpirun;
  Status missing = check_launchable(options, &mpirun);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.message(), "program '/nonexistent/train' not found");
  const std::string data = ::testing::TempDir() + "/hvdrun_test_data.txt";
  std::ofstream(data) << "not a program";
  options.command = {data};
  Status not_executable = check_launchable(options, &mpirun);
  ASSERT_FALSE(not_executable.is_ok());
  EXPECT_EQ(not_executable.message(), "program '" + data + "' is not an executable file");
  std::remove(data.c_str());
  options.command = {"no-such-program-on-path"};
  EXPECT_NE(check_launchable(options, &mpirun).message().find("not found on PATH"),
            std::string::npos);
  options.command = {"sh"};
  EXPECT_TRUE(check_launchable(options, &mpirun).is_ok());
  EXPECT_FALSE(mpirun.empty());
}

}  // namespace
}  // namespace hvd
