// The smallest user program: average a tensor across ranks and check the result.
#include <horovod_cpp/torch.h>

#include <cstdio>

int main() {
  hvd::init();
  auto x = hvd::allreduce(torch::full({3}, static_cast<float>(hvd::rank())));
  const float want = (hvd::size() - 1) / 2.0f;
  const bool ok = torch::allclose(x, torch::full({3}, want));
  std::printf("user program rank %d of %d: %s\n", hvd::rank(), hvd::size(), ok ? "ok" : "WRONG");
  hvd::shutdown();
  return ok ? 0 : 1;
}
