// Data-parallel Fashion-MNIST training with horovod_cpp: each rank trains on its own shard
// of the real dataset, gradients are averaged by hvd::DistributedOptimizer, and metrics are
// averaged across ranks.
//   mpirun -np 2 ./fashion_mnist --epochs 2
#include <ATen/CPUGeneratorImpl.h>
#include <horovod_cpp/torch.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "idx_file.h"
#include "model.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Dataset {
  torch::Tensor images;  // [N, 1, 28, 28] float32 in [0, 1]
  torch::Tensor labels;  // [N] int64
};

Dataset load(const std::string& dir, const std::string& split) {
  IdxArray images = read_idx_gz(dir + "/" + split + "-images-idx3-ubyte.gz", 3);
  IdxArray labels = read_idx_gz(dir + "/" + split + "-labels-idx1-ubyte.gz", 1);
  if (images.dims[0] != labels.dims[0] || images.dims[1] != 28 || images.dims[2] != 28) {
    throw std::runtime_error(dir + "/" + split + ": " + std::to_string(images.dims[0]) +
                             " images of " + std::to_string(images.dims[1]) + "x" +
                             std::to_string(images.dims[2]) + " but " +
                             std::to_string(labels.dims[0]) + " labels");
  }
  const int64_t n = images.dims[0];
  Dataset d;
  d.images = torch::from_blob(images.bytes.data(), {n, 1, 28, 28}, torch::kUInt8)
                 .to(torch::kFloat32)
                 .div_(255.0);
  d.labels = torch::from_blob(labels.bytes.data(), {n}, torch::kUInt8).to(torch::kInt64);
  if (d.labels.max().item<int64_t>() > 9) {
    throw std::runtime_error(dir + "/" + split + "-labels-idx1-ubyte.gz: labels outside 0-9");
  }
  return d;
}

hvd::Compression parse_compression(const std::string& name) {
  if (name == "none")
    return hvd::Compression::None;
  if (name == "fp16")
    return hvd::Compression::FP16;
  return hvd::Compression::BF16;
}

// Fraction of `data` classified correctly, over all ranks (each rank scores a strided shard).
double evaluate(FashionNet& net, const Dataset& data) {
  torch::NoGradGuard no_grad;
  // Batch-norm statistics are buffers each rank updated on its own shard: use rank 0's
  // everywhere, as DDP does, so every rank scores the same model.
  hvd::broadcast_parameters(net->named_buffers(), 0);
  net->eval();
  const int64_t n = data.images.size(0);
  auto mine = torch::arange(hvd::rank(), n, hvd::size());
  int64_t correct = 0;
  for (int64_t start = 0; start < mine.size(0); start += 1000) {
    auto idx = mine.slice(0, start, start + 1000);
    auto predicted = net->forward(data.images.index_select(0, idx)).argmax(1);
    correct += predicted.eq(data.labels.index_select(0, idx)).sum().item<int64_t>();
  }
  auto totals = hvd::allreduce(torch::tensor({correct, mine.size(0)}, torch::kInt64),
                               hvd::ReduceOp::Sum, "eval.totals");
  return static_cast<double>(totals[0].item<int64_t>()) / totals[1].item<int64_t>();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a small CNN on Fashion-MNIST, data-parallel with horovod_cpp"};
  int epochs = 2;
  int64_t batch_size = 64;
  double lr = 1e-3;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  std::string compression = "none";
  uint64_t seed = 42;
  int log_every = 100;
  int64_t train_limit = 0;
  app.add_option("--epochs", epochs, "passes over the training set")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "images per rank per step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--lr", lr, "Adam learning rate for one rank; scaled by the number of ranks")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--data-dir", data_dir, "folder with the four *-ubyte.gz IDX files")
      ->capture_default_str();
  app.add_option("--compression", compression, "gradient compression for the allreduce")
      ->check(CLI::IsMember({"none", "fp16", "bf16"}))
      ->capture_default_str();
  app.add_option("--seed", seed, "seed for initialization and shuffling (same on all ranks)")
      ->capture_default_str();
  app.add_option("--log-every", log_every, "batches between progress lines")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--train-limit", train_limit,
                 "use only the first N training images (0: all), for quick checks")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  Dataset train, test;
  try {
    train = load(data_dir, "train");
    test = load(data_dir, "t10k");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_mnist: error: %s\n", e.what());
    return 1;
  }

  if (train_limit > 0 && train_limit < train.images.size(0)) {
    train.images = train.images.slice(0, 0, train_limit);
    train.labels = train.labels.slice(0, 0, train_limit);
  }

  hvd::init();
  const int rank = hvd::rank(), size = hvd::size();
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(std::max(1, static_cast<int>(cores) / hvd::local_size()));
  torch::manual_seed(seed + rank);  // weights differ per rank until rank 0's are broadcast

  FashionNet net;
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(lr * size));
  hvd::broadcast_parameters(net->named_parameters(), 0);
  hvd::broadcast_optimizer_state(adam, 0);
  hvd::DistributedOptimizerOptions options;
  options.compression = parse_compression(compression);
  hvd::DistributedOptimizer optimizer(adam, net->named_parameters(), options);

  const int64_t n = train.images.size(0);
  const int64_t per_rank = n / size;  // equal shards: every rank takes the same steps
  const int64_t batches = (per_rank + batch_size - 1) / batch_size;
  if (rank == 0) {
    std::printf(
        "fashion_mnist: %d ranks, %lld training images (%lld per rank), %d epochs, "
        "batch %lld per rank, Adam lr %.4g (= %.4g x %d), compression %s\n",
        size, static_cast<long long>(n), static_cast<long long>(per_rank), epochs,
        static_cast<long long>(batch_size), lr * size, lr, size, compression.c_str());
  }
  const auto start = Clock::now();
  int64_t images_trained = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    net->train();
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed + epoch);
    auto order = torch::randperm(n, generator, torch::kInt64);
    auto shard = order.slice(0, rank, per_rank * size, size);
    double window_loss = 0;
    int window_batches = 0;
    auto window_start = Clock::now();
    for (int64_t b = 0; b < batches; ++b) {
      auto idx = shard.slice(0, b * batch_size, (b + 1) * batch_size);
      auto x = train.images.index_select(0, idx);
      auto y = train.labels.index_select(0, idx);
      optimizer.zero_grad();
      auto loss = torch::cross_entropy_loss(net->forward(x), y);
      loss.backward();
      optimizer.step();
      images_trained += idx.size(0) * size;
      window_loss += loss.item<double>();
      ++window_batches;
      if ((b + 1) % log_every == 0 || b + 1 == batches) {
        auto mean_loss = hvd::allreduce(torch::tensor({window_loss / window_batches}),
                                        hvd::ReduceOp::Average, "train.loss");
        const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
        if (rank == 0) {
          std::printf("epoch %d  batch %4lld/%lld  loss %.4f  %.0f images/sec\n", epoch,
                      static_cast<long long>(b + 1), static_cast<long long>(batches),
                      mean_loss.item<double>(),
                      window_batches * batch_size * size / std::max(seconds, 1e-9));
          std::fflush(stdout);
        }
        window_loss = 0;
        window_batches = 0;
        window_start = Clock::now();
      }
    }
    const double accuracy = evaluate(net, test);
    if (rank == 0)
      std::printf("epoch %d  test accuracy %.4f\n", epoch, accuracy);
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double accuracy = evaluate(net, test);
  if (rank == 0) {
    std::printf(
        "final: test accuracy %.4f on %lld images; %.0f images/sec over %d ranks; "
        "wall time %.1f s\n",
        accuracy, static_cast<long long>(test.images.size(0)), images_trained / wall, size, wall);
  }
  hvd::shutdown();
  return 0;
}
