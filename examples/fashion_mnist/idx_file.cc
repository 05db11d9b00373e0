#include "idx_file.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

void read_exactly(gzFile f, void* out, std::size_t n, const std::string& path, const char* what) {
  std::size_t done = 0;
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
    const int got = gzread(f, static_cast<char*>(out) + done, chunk);
    if (got <= 0) {
      int code = 0;
      const char* message = gzerror(f, &code);
      throw std::runtime_error(path + ": truncated or corrupt while reading " + what + " (" +
                               std::to_string(done) + " of " + std::to_string(n) + " bytes; " +
                               (code != Z_OK ? message : "unexpected end of file") + ")");
    }
    done += static_cast<std::size_t>(got);
  }
}

std::uint32_t big_endian(const unsigned char b[4]) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

}  // namespace

IdxArray read_idx_gz(const std::string& path, int expected_rank) {
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) {
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno) +
                             " (install the dataset-fashion-mnist package, or pass --data-dir)");
  }
  unsigned char magic[4];
  read_exactly(file.get(), magic, 4, path, "the IDX magic number");
  // 0x00 0x00, type 0x08 (unsigned byte), then the number of dimensions.
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] != expected_rank) {
    throw std::runtime_error(path + ": not an IDX file of unsigned bytes with " +
                             std::to_string(expected_rank) + " dimension(s) (magic " +
                             std::to_string(magic[2]) + "/" + std::to_string(magic[3]) + ")");
  }
  IdxArray array;
  std::int64_t total = 1;
  for (int d = 0; d < expected_rank; ++d) {
    unsigned char raw[4];
    read_exactly(file.get(), raw, 4, path, "the IDX dimensions");
    const std::int64_t size = big_endian(raw);
    if (size <= 0 || size > (1 << 24)) {
      throw std::runtime_error(path + ": implausible dimension " + std::to_string(size));
    }
    array.dims.push_back(size);
    total *= size;
  }
  array.bytes.resize(static_cast<std::size_t>(total));
  read_exactly(file.get(), array.bytes.data(), array.bytes.size(), path, "the data");
  unsigned char extra;
  if (gzread(file.get(), &extra, 1) != 0) {
    throw std::runtime_error(path + ": more data than its header declares");
  }
  return array;
}
