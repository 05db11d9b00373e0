#include "idx_file.h"

#include <zlib.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace {

std::string write_gz(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + name;
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  return path;
}

std::string header(int rank, std::initializer_list<unsigned> dims) {
  std::string h = {0, 0, 8, static_cast<char>(rank)};
  for (unsigned d : dims) {
    h += {static_cast<char>(d >> 24), static_cast<char>(d >> 16), static_cast<char>(d >> 8),
          static_cast<char>(d)};
  }
  return h;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(IdxFileTest, ReadsAValidFile) {
  const std::string path = write_gz("ok.gz", header(3, {2, 2, 3}) + std::string(12, '\x07'));
  IdxArray a = read_idx_gz(path, 3);
  EXPECT_EQ(a.dims, (std::vector<std::int64_t>{2, 2, 3}));
  ASSERT_EQ(a.bytes.size(), 12u);
  EXPECT_EQ(a.bytes[11], 7);
}

TEST(IdxFileTest, ProblemsNameTheFile) {
  EXPECT_NE(error_of([] { read_idx_gz("/nonexistent/x.gz", 1); }).find("cannot open /nonexistent"),
            std::string::npos);
  const std::string truncated = write_gz("short.gz", header(1, {10}) + "abc");
  const std::string message = error_of([&] { read_idx_gz(truncated, 1); });
  EXPECT_NE(message.find(truncated), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  const std::string wrong_rank = write_gz("rank.gz", header(3, {1, 1, 1}) + "x");
  EXPECT_NE(error_of([&] { read_idx_gz(wrong_rank, 1); }).find("1 dimension"), std::string::npos);
  const std::string long_file = write_gz("long.gz", header(1, {2}) + "abc");
  EXPECT_NE(error_of([&] { read_idx_gz(long_file, 1); }).find("more data than its header"),
            std::string::npos);
}

}  // namespace
