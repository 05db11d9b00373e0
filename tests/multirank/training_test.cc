// DistributedOptimizer and state broadcast on real MPI ranks. The equivalence tests train the
// same model two ways on every rank: distributed, each rank on its shard, and in one process
// on the concatenated batch (the reference every rank computes by itself).
#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "horovod_cpp/torch.h"

namespace {

using hvd_test::expect_error;

struct NetImpl : torch::nn::Module {
  NetImpl()
      : fc1(register_module("fc1", torch::nn::Linear(6, 8))),
        fc2(register_module("fc2", torch::nn::Linear(8, 8))),
        fc3(register_module("fc3", torch::nn::Linear(8, 3))),
        branch(register_module("branch", torch::nn::Linear(6, 3))) {}
  torch::Tensor forward(const torch::Tensor& x, bool use_branch = false) {
    auto y = fc3(torch::relu(fc2(torch::relu(fc1(x)))));
    return use_branch ? y + branch(x) : y;
  }
  torch::nn::Linear fc1, fc2, fc3, branch;
};
TORCH_MODULE(Net);

Net make_net(uint64_t seed) {
  torch::manual_seed(seed);
  return Net();
}

constexpr int64_t kRowsPerRank = 4;
constexpr int kSteps = 3;

// Microbatch m of the whole job: inputs [size * kRowsPerRank, 6], targets [.., 3].
std::pair<torch::Tensor, torch::Tensor> global_batch(int m) {
  torch::manual_seed(1000 + m);
  const int64_t rows = hvd::size() * kRowsPerRank;
  auto x = torch::randn({rows, 6});
  auto y = torch::randn({rows, 3});
  return {x, y};
}

std::pair<torch::Tensor, torch::Tensor> my_shard(int m) {
  auto [x, y] = global_batch(m);
  const int64_t start = hvd::rank() * kRowsPerRank;
  return {x.slice(0, start, start + kRowsPerRank), y.slice(0, start, start + kRowsPerRank)};
}

Net train_distributed(const hvd::DistributedOptimizerOptions& options) {
  Net net = make_net(1);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  hvd::DistributedOptimizer opt(sgd, net->named_parameters(), options);
  const int k = options.backward_passes_per_step;
  for (int step = 0; step < kSteps; ++step) {
    opt.zero_grad();
    for (int pass = 0; pass < k; ++pass) {
      auto [x, y] = my_shard(step * k + pass);
      torch::mse_loss(net->forward(x), y).backward();
    }
    opt.step();
  }
  return net;
}

Net train_reference(int k) {
  Net net = make_net(1);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  for (int step = 0; step < kSteps; ++step) {
    sgd.zero_grad();
    for (int pass = 0; pass < k; ++pass) {
      auto [x, y] = global_batch(step * k + pass);
      torch::mse_loss(net->forward(x), y).backward();
    }
    sgd.step();
  }
  return net;
}

void expect_same_parameters(Net a, Net b, double atol, const std::string& what) {
  auto pa = a->named_parameters();
  auto pb = b->named_parameters();
  for (const auto& item : pa) {
    const auto& other = pb[item.key()];
    EXPECT_TRUE(torch::allclose(item.value(), other, 1e-5, atol))
        << what << ": " << item.key() << " differs by "
        << (item.value() - other).abs().max().item<double>();
  }
}

TEST(TrainingTest, MatchesOneProcessOnTheConcatenatedBatch) {
  expect_same_parameters(train_distributed({}), train_reference(1), 1e-6, "k=1");
}

TEST(TrainingTest, BackwardPassesPerStepMatchesLocalAccumulation) {
  hvd::DistributedOptimizerOptions options;
  options.backward_passes_per_step = 2;
  expect_same_parameters(train_distributed(options), train_reference(2), 1e-6, "k=2");
}

TEST(TrainingTest, GradientPredivideGivesTheSameResult) {
  hvd::DistributedOptimizerOptions options;
  options.gradient_predivide_factor = 2.0;
  expect_same_parameters(train_distributed(options), train_reference(1), 1e-6, "predivide");
}

TEST(TrainingTest, CompressionStaysWithinRounding) {
  Net reference = train_reference(1);
  for (auto [compression, atol] :
       {std::pair{hvd::Compression::FP16, 1e-3}, std::pair{hvd::Compression::BF16, 5e-3}}) {
    hvd::DistributedOptimizerOptions options;
    options.compression = compression;
    Net net = train_distributed(options);
    expect_same_parameters(net, reference, atol, "compression");
    // Rounded, so not bit-identical to the uncompressed run.
    EXPECT_FALSE(torch::equal(net->fc1->weight, reference->fc1->weight));
  }
}

TEST(TrainingTest, ParameterUnusedOnSomeRanksIsReducedAsZeros) {
  Net net = make_net(3);
  auto branch_before = net->branch->weight.clone();
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1));
  hvd::DistributedOptimizer opt(sgd, net->named_parameters());
  auto [x, y] = my_shard(0);
  opt.zero_grad();
  torch::mse_loss(net->forward(x, /*use_branch=*/hvd::rank() == 0), y).backward();
  opt.step();
  // Rank 0's branch gradient, averaged with zeros from the others, reached every rank.
  EXPECT_FALSE(torch::equal(net->branch->weight, branch_before));
  for (const auto& item : net->named_parameters()) {
    auto root = hvd::broadcast(item.value().detach(), 0, "unused.check." + item.key());
    EXPECT_TRUE(torch::equal(root, item.value())) << item.key();
  }
}

TEST(TrainingTest, ReductionsStartDuringBackward) {
  Net net = make_net(4);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1));
  hvd::DistributedOptimizer opt(sgd, net->named_parameters());
  // fc1 is the first layer, so autograd reaches its weight last: by then the later layers'
  // reductions must already be in the runtime.
  std::atomic<int64_t> submitted_before_fc1{-1};
  const int64_t before = hvd::stats().tensors_submitted;
  auto hook = net->fc1->weight.register_hook([&](const torch::Tensor&) {
    submitted_before_fc1 = hvd::stats().tensors_submitted - before;
  });
  auto [x, y] = my_shard(0);
  opt.zero_grad();
  torch::mse_loss(net->forward(x), y).backward();
  EXPECT_GE(submitted_before_fc1.load(), 4) << "fc2 and fc3 weights and biases";
  opt.step();
  net->fc1->weight.remove_hook(hook);
}

TEST(TrainingTest, ConstructorRejectsMissingOrDuplicateParameters) {
  Net net = make_net(5);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1));
  torch::OrderedDict<std::string, torch::Tensor> missing;
  for (const auto& item : net->named_parameters()) {
    if (item.key() != "fc2.bias")
      missing.insert(item.key(), item.value());
  }
  expect_error([&] { hvd::DistributedOptimizer opt(sgd, missing); },
               {"is not in named_parameters", "shape [8]"});
  auto twice = net->named_parameters();
  twice.insert("alias.of.fc1.weight", net->fc1->weight);
  expect_error([&] { hvd::DistributedOptimizer opt(sgd, twice); },
               {"twice", "'fc1.weight'", "'alias.of.fc1.weight'"});
  hvd::DistributedOptimizerOptions bad;
  bad.backward_passes_per_step = 0;
  expect_error([&] { hvd::DistributedOptimizer opt(sgd, net->named_parameters(), bad); },
               {"backward_passes_per_step"});
}

TEST(TrainingTest, ZeroGradWhileReductionsAreInFlightIsAnError) {
  Net net = make_net(6);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1));
  hvd::DistributedOptimizer opt(sgd, net->named_parameters());
  auto [x, y] = my_shard(0);
  torch::mse_loss(net->forward(x), y).backward();
  expect_error([&] { opt.zero_grad(); }, {"zero_grad", "in flight"});
  {
    auto guard = opt.skip_synchronize();
    opt.synchronize();
    torch::nn::utils::clip_grad_norm_(net->parameters(), 1.0);
    opt.step();  // does not synchronize again
  }
  opt.zero_grad();
}

TEST(TrainingTest, FrozenParametersAreLeftAloneAndMatchOneProcess) {
  auto freeze_fc1 = [](Net net) {
    for (auto& p : net->fc1->parameters())
      p.requires_grad_(false);
    return net;
  };
  Net net = freeze_fc1(make_net(1));
  Net reference = freeze_fc1(make_net(1));
  const torch::Tensor fc1_before = net->fc1->weight.clone();
  // The optimizers hold the frozen parameters too, as fine-tuning scripts pass them.
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1));
  torch::optim::SGD reference_sgd(reference->parameters(), torch::optim::SGDOptions(0.1));
  hvd::DistributedOptimizer opt(sgd, net->named_parameters());
  for (int step = 0; step < kSteps; ++step) {
    opt.zero_grad();
    auto [x, y] = my_shard(step);
    torch::mse_loss(net->forward(x), y).backward();
    opt.step();
    reference_sgd.zero_grad();
    auto [all_x, all_y] = global_batch(step);
    torch::mse_loss(reference->forward(all_x), all_y).backward();
    reference_sgd.step();
  }
  expect_same_parameters(net, reference, 1e-6, "fc1 frozen");
  EXPECT_TRUE(torch::equal(net->fc1->weight, fc1_before));
}

TEST(TrainingTest, AGradientNoRankReducesIsRefusedAtStepNamingTheParameter) {
  Net net = make_net(2);
  for (auto& p : net->fc1->parameters())
    p.requires_grad_(false);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1));
  hvd::DistributedOptimizer opt(sgd, net->named_parameters());
  for (auto& p : net->fc1->parameters())
    p.requires_grad_(true);  // unfrozen after the wrap: its gradient has no hook
  auto [x, y] = my_shard(0);
  torch::mse_loss(net->forward(x), y).backward();
  expect_error([&] { opt.step(); }, {"parameter 'fc1.", "frozen", "new DistributedOptimizer"});
  opt.synchronize();  // what the hooked parameters started

  Net small = make_net(3);
  torch::optim::SGD partial(small->fc3->parameters(), torch::optim::SGDOptions(0.1));
  hvd::DistributedOptimizer wrapped(partial, small->named_parameters());
  partial.add_param_group(torch::optim::OptimizerParamGroup(small->branch->parameters()));
  torch::mse_loss(small->forward(x, /*use_branch=*/true), y).backward();
  expect_error([&] { wrapped.step(); }, {"parameter 'branch.", "add_param_group"});
  wrapped.synchronize();
}

TEST(TrainingTest, ASparseGradientIsRefusedNamingTheParameter) {
  torch::nn::Embedding embedding(torch::nn::EmbeddingOptions(10, 4).sparse(true));
  torch::optim::SGD sgd(embedding->parameters(), torch::optim::SGDOptions(0.1));
  hvd::DistributedOptimizer opt(sgd, embedding->named_parameters());
  auto loss = embedding->forward(torch::tensor({1, 2, 3}, torch::kInt64)).sum();
  expect_error([&] { loss.backward(); }, {"'weight'", "sparse gradient"});
  expect_error([&] { hvd::allreduce(torch::eye(3).to_sparse(), hvd::ReduceOp::Sum, "sparse"); },
               {"hvd::allreduce", "Sparse", "dense"});
  EXPECT_TRUE(torch::equal(hvd::allreduce(torch::ones({2}), hvd::ReduceOp::Sum, "after_sparse"),
                           torch::full({2}, static_cast<float>(hvd::size()))));
}

TEST(TrainingTest, StepAfterSynchronizeReducesTheGradientsOnce) {
  const int rank = hvd::rank(), size = hvd::size();
  auto p = torch::ones({2}, torch::requires_grad());
  torch::optim::SGD sgd({p}, torch::optim::SGDOptions(0.1));
  torch::OrderedDict<std::string, torch::Tensor> named;
  named.insert("p", p);
  hvd::DistributedOptimizerOptions sum;
  sum.op = hvd::ReduceOp::Sum;
  hvd::DistributedOptimizer opt(sgd, named, sum);
  const double total = size * (size + 1) / 2.0;  // the sum over ranks of rank + 1
  ((p * (rank + 1)).sum()).backward();
  opt.synchronize();
  opt.synchronize();
  opt.step();  // no skip_synchronize(): Horovod would reduce (and scale) a second time
  EXPECT_NEAR(p[0].item<double>(), 1 - 0.1 * total, 1e-6);
  // Gradients set by hand after a step are reduced by the next one.
  p.mutable_grad() = torch::full({2}, rank + 1.0);
  opt.step();
  EXPECT_NEAR(p[1].item<double>(), 1 - 0.2 * total, 1e-6);
}

TEST(TrainingTest, StepWithAClosureAppliesTheAveragedGradientsAndLoss) {
  const int rank = hvd::rank(), size = hvd::size();
  auto p = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd({p}, torch::optim::SGDOptions(0.1));
  torch::OrderedDict<std::string, torch::Tensor> named;
  named.insert("p", p);
  hvd::DistributedOptimizer opt(sgd, named);
  // Rank r's loss is (r + 1) * sum(p): its gradient is r + 1 everywhere, averaged (size + 1) / 2.
  const double mean_slope = (size + 1) / 2.0;
  for (int step = 1; step <= 2; ++step) {
    const double before = 1 - 0.1 * mean_slope * (step - 1);
    torch::Tensor loss = opt.step([&] {
      opt.zero_grad();
      torch::Tensor mine = (p * (rank + 1)).sum();
      mine.backward();
      return mine;
    });
    EXPECT_NEAR(loss.item<double>(), 3 * mean_slope * before, 1e-5) << "step " << step;
    for (int64_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(p[i].item<double>(), before - 0.1 * mean_slope, 1e-6)
          << "step " << step << ", p[" << i << "]";
    }
  }
  opt.zero_grad();  // nothing the closures started is left in flight
}

TEST(TrainingTest, LbfgsWithAClosureFindsTheMinimumOfTheMeanLossOnEveryRank) {
  // Rank r's loss is |p - (r + 1)|^2: the mean over ranks is smallest at p = (size + 1) / 2,
  // where no rank's own loss is. LBFGS decides from the loss too (line search, stopping), so
  // the ranks keep in step only if they agree on it.
  const double target = hvd::rank() + 1;
  auto p = torch::zeros({4}, torch::dtype(torch::kFloat64).requires_grad(true));
  torch::optim::LBFGS lbfgs(
      {p}, torch::optim::LBFGSOptions(1).max_iter(20).line_search_fn("strong_wolfe"));
  torch::OrderedDict<std::string, torch::Tensor> named;
  named.insert("p", p);
  hvd::DistributedOptimizer opt(lbfgs, named);
  for (int step = 0; step < 3; ++step) {
    opt.step([&] {
      opt.zero_grad();
      torch::Tensor loss = (p - target).pow(2).sum();
      loss.backward();
      return loss;
    });
  }
  const double minimum = (hvd::size() + 1) / 2.0;
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_NEAR(p[i].item<double>(), minimum, 1e-6) << "p[" << i << "]";
  torch::Tensor everyone = hvd::allgather(p.detach().unsqueeze(0), "lbfgs.p");
  for (int64_t r = 1; r < everyone.size(0); ++r)
    EXPECT_TRUE(torch::equal(everyone[r], everyone[0])) << "rank " << r << " differs from 0";
}

// Checksums of every parameter, gathered from all ranks: row r is rank r's.
torch::Tensor gathered_checksums(Net net, const std::string& name) {
  std::vector<torch::Tensor> sums;
  for (const auto& p : net->parameters()) {
    auto flat = p.detach().flatten().to(torch::kFloat64);
    sums.push_back((flat * torch::arange(1, flat.numel() + 1, torch::kFloat64)).sum());
  }
  return hvd::allgather(torch::stack(sums).unsqueeze(0), name);
}

void expect_all_rows_equal(const torch::Tensor& rows, const std::string& what) {
  for (int64_t r = 1; r < rows.size(0); ++r) {
    EXPECT_TRUE(torch::equal(rows[r], rows[0])) << what << ": rank " << r << " differs from 0";
  }
}

TEST(TrainingTest, BroadcastParametersMakesEveryRankEqualToRoot) {
  Net net = make_net(100 + hvd::rank());  // different on every rank
  hvd::broadcast_parameters(net->named_parameters(), 0);
  expect_all_rows_equal(gathered_checksums(net, "params.checksum"), "parameters");
  Net root_init = make_net(100);
  expect_same_parameters(net, root_init, 0, "equal to root's initialization");
}

TEST(TrainingTest, AFailedParameterBroadcastLeavesNoOpOrHandleBehind) {
  // 'a' has another shape on rank 1, so its broadcast fails on every rank; 'b' and 'c',
  // submitted after it, must still be waited for, not left in flight under their names.
  const hvd::Stats before = hvd::stats();
  auto params_with_a_of = [](int64_t a_rows) {
    torch::OrderedDict<std::string, torch::Tensor> params;
    params.insert("a", torch::zeros({a_rows}));
    params.insert("b", torch::full({2}, hvd::rank() + 1.0));
    params.insert("c", torch::full({2}, hvd::rank() + 1.0));
    return params;
  };
  auto mismatched = params_with_a_of(hvd::rank() == 1 ? 3 : 2);
  expect_error([&] { hvd::broadcast_parameters(mismatched, 0); }, {"broadcast_parameters.a"});
  EXPECT_EQ(hvd::stats().handles_outstanding, before.handles_outstanding);
  EXPECT_EQ(hvd::stats().ops_in_flight, before.ops_in_flight);
  EXPECT_TRUE(torch::equal(mismatched["b"], torch::ones({2}))) << "root's, though 'a' failed";
  auto matching = params_with_a_of(2);
  hvd::broadcast_parameters(matching, 0);  // no name is left taken
  EXPECT_TRUE(torch::equal(matching["c"], torch::ones({2})));
}

template <class Optimizer, class Options>
void check_optimizer_state_broadcast(Options options, const std::string& what) {
  Net net = make_net(7);
  Optimizer opt(net->parameters(), options);
  auto set_grads = [&](uint64_t seed) {
    torch::manual_seed(seed);
    for (auto& p : net->parameters())
      p.mutable_grad() = torch::randn_like(p);
  };
  if (hvd::rank() == 0) {  // only root has state, and a different learning rate
    for (int i = 0; i < 2; ++i) {
      set_grads(10 + i);
      opt.step();
    }
    opt.param_groups()[0].options().set_lr(0.05);
  }
  hvd::broadcast_parameters(net->named_parameters(), 0);
  hvd::broadcast_optimizer_state(opt, 0);
  EXPECT_DOUBLE_EQ(opt.param_groups()[0].options().get_lr(), 0.05) << what;
  // Identical state + identical gradients = identical next step everywhere.
  set_grads(99);
  opt.step();
  expect_all_rows_equal(gathered_checksums(net, "state.checksum." + what), what);
}

TEST(TrainingTest, BroadcastOptimizerStateForEachOptimizer) {
  using namespace torch::optim;
  check_optimizer_state_broadcast<SGD>(SGDOptions(0.1).momentum(0.9), "sgd");
  check_optimizer_state_broadcast<Adam>(AdamOptions(0.01).amsgrad(true), "adam");
  check_optimizer_state_broadcast<AdamW>(AdamWOptions(0.01), "adamw");
  check_optimizer_state_broadcast<RMSprop>(RMSpropOptions(0.01).momentum(0.5).centered(true),
                                           "rmsprop");
  check_optimizer_state_broadcast<Adagrad>(AdagradOptions(0.1), "adagrad");
}

}  // namespace
