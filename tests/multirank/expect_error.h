// expect_error(f, fragments): f must throw hvd::Error on this rank, with every fragment in
// its message.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "horovod_cpp/horovod.h"

namespace hvd_test {

template <class F>
void expect_error(F&& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected hvd::Error";
  } catch (const hvd::Error& e) {
    for (const auto& fragment : fragments) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "message: " << e.what() << "\nmissing: " << fragment;
    }
  }
}

}  // namespace hvd_test
