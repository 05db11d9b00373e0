// Reads the gzip-compressed IDX files of (Fashion-)MNIST. No torch here: it hands back bytes
// and dimensions, and throws std::runtime_error naming the file on any problem.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct IdxArray {
  std::vector<std::int64_t> dims;  // e.g. {60000, 28, 28} for images, {60000} for labels
  std::vector<std::uint8_t> bytes;
};

// `expected_rank`: 3 for images, 1 for labels. Checks the magic number (unsigned byte data),
// the rank, and that the file holds exactly the bytes its header promises.
IdxArray read_idx_gz(const std::string& path, int expected_rank);
