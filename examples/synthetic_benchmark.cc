// Training throughput on random data, like Horovod's synthetic benchmark: an MLP or a small
// ResNet-style CNN, timed with horovod_cpp's DistributedOptimizer and, in the same run, with
// the plain optimizer (no communication) to show the runtime's cost per step.
// With --device cuda each rank trains on GPU local_rank % count (CUDA tensors then take the
// GPU data plane where horovod_cpp has one, see the README).
//   mpirun -np 2 ./synthetic_benchmark --model resnet
#include <horovod_cpp/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <torch/cuda.h>

namespace {

using Clock = std::chrono::steady_clock;

struct MlpImpl : torch::nn::Module {
  MlpImpl()
      : fc1(register_module("fc1", torch::nn::Linear(784, 1024))),
        fc2(register_module("fc2", torch::nn::Linear(1024, 1024))),
        fc3(register_module("fc3", torch::nn::Linear(1024, 10))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return fc3(torch::relu(fc2(torch::relu(fc1(x.flatten(1))))));
  }
  torch::nn::Linear fc1, fc2, fc3;
};
TORCH_MODULE(Mlp);

// conv-bn-relu-conv-bn + shortcut, as in ResNet's basic block.
struct BlockImpl : torch::nn::Module {
  BlockImpl(int64_t in, int64_t out, int64_t stride)
      : conv1(register_module(
            "conv1",
            torch::nn::Conv2d(
                torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(out))),
        conv2(register_module(
            "conv2",
            torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1).bias(false)))),
        bn2(register_module("bn2", torch::nn::BatchNorm2d(out))) {
    if (stride != 1 || in != out) {
      shortcut = register_module(
          "shortcut",
          torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = bn2(conv2(torch::relu(bn1(conv1(x)))));
    return torch::relu(y + (shortcut ? shortcut->forward(x) : x));
  }
  torch::nn::Conv2d conv1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  torch::nn::BatchNorm2d bn2;
  torch::nn::Conv2d shortcut{nullptr};
};
TORCH_MODULE(Block);

// ResNet-14-style for 3x32x32 inputs: stem, three stages of two blocks (16, 32, 64 channels).
struct ResNetImpl : torch::nn::Module {
  ResNetImpl() {
    stem =
        register_module("stem", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 16, 3).padding(1)));
    int64_t in = 16;
    for (int64_t stage = 0; stage < 3; ++stage) {
      const int64_t out = 16 << stage;
      for (int b = 0; b < 2; ++b) {
        blocks->push_back(Block(in, out, (b == 0 && stage > 0) ? 2 : 1));
        in = out;
      }
    }
    register_module("blocks", blocks);
    head = register_module("head", torch::nn::Linear(64, 10));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(stem(x));
    for (auto& block : *blocks)
      x = block.forward(x);
    return head(torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
  }
  torch::nn::Conv2d stem{nullptr};
  torch::nn::Sequential blocks;
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(ResNet);

struct Result {
  double mean_images_per_sec;  // per rank
  double stddev;
};

struct Rates {
  std::vector<double> plain, hvd;  // images/sec per rank, one sample per timed iteration
};

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v)
    sum += x;
  return sum / v.size();
}

double stddev_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double var = 0;
  for (double x : v)
    var += (x - m) * (x - m);
  return std::sqrt(var / v.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Synthetic training benchmark: images/sec with and without horovod_cpp"};
  std::string model_name = "resnet";
  int64_t batch_size = 32;
  int warmup = 3, iters = 5, batches = 5;
  std::string csv_path;
  int threads = 0;
  std::string device_name = "cpu";
  app.add_option("--device", device_name, "cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--model", model_name, "mlp or resnet")
      ->check(CLI::IsMember({"mlp", "resnet"}))
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "images per rank per step")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps first")->capture_default_str();
  app.add_option("--num-iters", iters, "timed iterations")->capture_default_str();
  app.add_option("--num-batches-per-iter", batches, "steps per timed iteration")
      ->capture_default_str();
  app.add_option("--csv", csv_path, "append one result row to this CSV file (rank 0)");
  app.add_option("--threads", threads, "torch threads per rank (0: cores / ranks on the host)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const bool on_gpu = device_name == "cuda";
  if (on_gpu && !torch::cuda::is_available()) {
    std::fprintf(stderr, "--device cuda: this LibTorch sees no CUDA device\n");
    return 2;
  }
  hvd::init();
  const int rank = hvd::rank(), size = hvd::size();
  const torch::Device device =
      on_gpu ? torch::Device(torch::kCUDA,
                             static_cast<c10::DeviceIndex>(
                                 hvd::local_rank() % static_cast<int>(torch::cuda::device_count())))
             : torch::Device(torch::kCPU);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  if (threads <= 0)
    threads = std::max(1, static_cast<int>(cores) / hvd::local_size());
  torch::set_num_threads(threads);
  torch::manual_seed(1234);

  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  torch::Tensor data;
  if (model_name == "mlp") {
    Mlp m;
    module = m.ptr();
    forward = [m](const torch::Tensor& x) mutable { return m->forward(x); };
    data = torch::randn({batch_size, 1, 28, 28});
  } else {
    ResNet m;
    module = m.ptr();
    forward = [m](const torch::Tensor& x) mutable { return m->forward(x); };
    data = torch::randn({batch_size, 3, 32, 32});
  }
  module->to(device);
  data = data.to(device);
  auto target = torch::randint(0, 10, {batch_size}, torch::kInt64).to(device);
  int64_t params = 0;
  for (const auto& p : module->parameters())
    params += p.numel();

  torch::optim::SGD sgd(module->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  hvd::broadcast_parameters(module->named_parameters(), 0);

  // The baseline is the same loop with the plain optimizer (no communication at all). The two
  // alternate, iteration by iteration, so both see the same machine: on a shared VM the
  // speed drifts by tens of percent over a minute.
  auto plain_step = [&] {
    sgd.zero_grad();
    torch::cross_entropy_loss(forward(data), target).backward();
    sgd.step();
  };
  auto timed = [&](const std::function<void()>& step) {
    const auto start = Clock::now();
    for (int b = 0; b < batches; ++b)
      step();
    if (on_gpu)
      torch::cuda::synchronize();  // the steps' kernels are queued, not yet run
    return batch_size * batches / std::chrono::duration<double>(Clock::now() - start).count();
  };
  Rates rates_here;
  for (int it = -1; it < iters; ++it) {  // iteration -1 warms both loops up
    if (it < 0) {
      for (int w = 0; w < warmup; ++w)
        plain_step();
    } else {
      rates_here.plain.push_back(timed(plain_step));
    }
    // The wrapper's hooks live as long as `opt`, so the plain loop above runs without them.
    hvd::DistributedOptimizer opt(sgd, module->named_parameters());
    auto hvd_step = [&] {
      opt.zero_grad();
      torch::cross_entropy_loss(forward(data), target).backward();
      opt.step();
    };
    if (it < 0) {
      for (int w = 0; w < warmup; ++w)
        hvd_step();
    } else {
      rates_here.hvd.push_back(timed(hvd_step));
    }
  }
  const Result plain{mean_of(rates_here.plain), stddev_of(rates_here.plain)};
  const Result with_hvd{mean_of(rates_here.hvd), stddev_of(rates_here.hvd)};
  // Average the per-rank figures so rank 0 reports the job's.
  auto rates = hvd::allreduce(
      torch::tensor({plain.mean_images_per_sec, with_hvd.mean_images_per_sec}, torch::kFloat64),
      hvd::ReduceOp::Average, "rates");
  const double plain_rate = rates[0].item<double>(), hvd_rate = rates[1].item<double>();
  if (rank == 0) {
    std::printf("model %s (%lld parameters) on %s, batch %lld per rank, %d ranks x %d threads\n",
                model_name.c_str(), static_cast<long long>(params), device_name.c_str(),
                static_cast<long long>(batch_size), size, threads);
    std::printf("without hvd: %.1f +- %.1f images/sec per rank\n", plain_rate, plain.stddev);
    std::printf("with hvd:    %.1f +- %.1f images/sec per rank, %.1f total\n", hvd_rate,
                with_hvd.stddev, hvd_rate * size);
    std::printf("runtime overhead per step: %.1f%% (hvd rate / plain rate = %.3f)\n",
                100.0 * (plain_rate / hvd_rate - 1.0), hvd_rate / plain_rate);
    if (!csv_path.empty()) {
      std::ifstream exists(csv_path);
      const bool write_header = !exists.good();
      std::ofstream csv(csv_path, std::ios::app);
      if (write_header) {
        csv << "model,ranks,threads_per_rank,batch_per_rank,parameters,plain_images_per_sec_per_"
               "rank,"
               "hvd_images_per_sec_per_rank,hvd_images_per_sec_total\n";
      }
      csv << model_name << "," << size << "," << threads << "," << batch_size << "," << params
          << "," << plain_rate << "," << hvd_rate << "," << hvd_rate * size << "\n";
    }
  }
  hvd::shutdown();
  return 0;
}
