// DistributedOptimizer: gradient reductions started from autograd hooks, waited for in step().
//
// Hooks on a leaf tensor fire with the incoming gradient before autograd accumulates it into
// .grad(), so on the k-th backward pass the hook reduces `.grad() + grad` (the passes so far
// plus this one), and synchronize() writes the reduced value into .grad(), replacing the local
// accumulation. Every rank names each reduction after its parameter, so the runtime matches
// them across ranks whatever order autograd produces them in.
//
// Only parameters that require a gradient when the optimizer is wrapped get a hook (frozen
// ones are skipped, as in Horovod); step() refuses a gradient on any other parameter (one
// unfrozen or added to the optimizer later), which no rank would reduce.
#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "horovod_cpp/torch.h"

namespace hvd {

struct DistributedOptimizer::Impl {
  struct Slot {
    std::string name;
    torch::Tensor param;
    unsigned hook_index = 0;
    int passes = 0;                // backward passes seen since the last synchronize()
    std::optional<Handle> handle;  // reduction in flight
  };

  Impl(torch::optim::Optimizer& inner_optimizer, DistributedOptimizerOptions opts)
      : inner(inner_optimizer), options(opts) {}

  // Thread: autograd (the hook), or the step() thread (missing gradients). REQUIRES: mu held.
  void submit_locked(Slot& slot, const torch::Tensor& gradient) {
    if (gradient.layout() != torch::kStrided) {
      throw Error("DistributedOptimizer: parameter '" + slot.name +
                  "' has a sparse gradient (an Embedding with sparse(true)?); only dense "
                  "gradients are reduced: make it dense");
    }
    torch::Tensor to_send = gradient.detach();
    if (options.compression == Compression::FP16 && to_send.is_floating_point()) {
      to_send = to_send.to(torch::kFloat16);
    } else if (options.compression == Compression::BF16 && to_send.is_floating_point()) {
      to_send = to_send.to(torch::kBFloat16);
    }
    ReduceOp op = options.op;
    double prescale = 1.0, postscale = 1.0;
    if (options.gradient_predivide_factor != 1.0 && op == ReduceOp::Average) {
      op = ReduceOp::Sum;
      prescale = 1.0 / options.gradient_predivide_factor;
      postscale = options.gradient_predivide_factor / size();
    }
    try {
      slot.handle = allreduce_async(to_send, op, "DistributedOptimizer.grad." + slot.name, prescale,
                                    postscale);
    } catch (const Error& e) {
      const std::string message = e.what();
      if (message.find("already in flight") == std::string::npos)
        throw;
      throw Error(message +
                  " (do two DistributedOptimizers have parameters of this name? their "
                  "reductions must not be in flight at once: give one model's names a prefix)");
    }
  }

  // Thread: autograd.
  void on_gradient(size_t index, const torch::Tensor& gradient) {
    std::lock_guard<std::mutex> lock(mu);
    Slot& slot = slots[index];
    if (slot.handle) {
      throw Error("DistributedOptimizer: parameter '" + slot.name + "' got more than " +
                  std::to_string(options.backward_passes_per_step) +
                  " backward pass(es) of gradient before step() or synchronize(); raise "
                  "backward_passes_per_step or call step() more often");
    }
    reduced = false;
    if (++slot.passes < options.backward_passes_per_step)
      return;  // accumulate locally
    const torch::Tensor& so_far = slot.param.grad();
    submit_locked(slot, so_far.defined() ? so_far + gradient : gradient);
  }

  // A gradient on a parameter that has no slot, which no rank reduces: an error naming it.
  // Thread: the step() thread.
  void refuse_unreduced_gradients() const {
    for (size_t g = 0; g < inner.param_groups().size(); ++g) {
      const auto& params = inner.param_groups()[g].params();
      for (size_t i = 0; i < params.size(); ++i) {
        const void* key = params[i].unsafeGetTensorImpl();
        if (!params[i].requires_grad() || !params[i].grad().defined() || hooked.count(key) != 0) {
          continue;
        }
        const auto named = names.find(key);
        const std::string what = named != names.end() ? "parameter '" + named->second + "'"
                                                      : "parameter " + std::to_string(i) +
                                                            " of param group " + std::to_string(g);
        throw Error("DistributedOptimizer: " + what +
                    " has a gradient, but it was frozen (requires_grad false) or not in the "
                    "optimizer when the DistributedOptimizer was made, so no rank reduces it; "
                    "make a new DistributedOptimizer after unfreezing or add_param_group");
      }
    }
  }

  torch::optim::Optimizer& inner;
  const DistributedOptimizerOptions options;
  std::unordered_map<const void*, std::string> names;  // named_parameters, by TensorImpl
  std::unordered_set<const void*> hooked;              // the slots' parameters, by TensorImpl
  std::mutex mu;
  std::vector<Slot> slots;  // guarded by mu once hooks are registered
  // Every gradient is reduced in .grad() and none has arrived since: synchronize() has nothing
  // to do (a second reduction would scale a Sum by size() again). Guarded by mu.
  bool reduced = false;
  bool skip_synchronize = false;
};

namespace {

using ImplKey = const void*;

void check_options(const DistributedOptimizerOptions& options) {
  if (options.backward_passes_per_step < 1) {
    throw Error("DistributedOptimizer: backward_passes_per_step must be >= 1, got " +
                std::to_string(options.backward_passes_per_step));
  }
  if (!(options.gradient_predivide_factor > 0)) {
    throw Error("DistributedOptimizer: gradient_predivide_factor must be > 0, got " +
                std::to_string(options.gradient_predivide_factor));
  }
  if (options.op != ReduceOp::Average && options.op != ReduceOp::Sum) {
    throw Error("DistributedOptimizer: op must be Average or Sum");
  }
  if (options.gradient_predivide_factor != 1.0 && options.op != ReduceOp::Average) {
    throw Error("DistributedOptimizer: gradient_predivide_factor needs op Average");
  }
}

}  // namespace

DistributedOptimizer::DistributedOptimizer(
    torch::optim::Optimizer& inner,
    const torch::OrderedDict<std::string, torch::Tensor>& named_parameters,
    DistributedOptimizerOptions options)
    : impl_(std::make_unique<Impl>(inner, options)) {
  check_options(options);
  std::unordered_map<ImplKey, std::string>& name_of = impl_->names;
  for (const auto& item : named_parameters) {
    auto [it, inserted] = name_of.emplace(item.value().unsafeGetTensorImpl(), item.key());
    if (!inserted) {
      throw Error("DistributedOptimizer: named_parameters lists one tensor twice, as '" +
                  it->second + "' and '" + item.key() + "'");
    }
  }
  std::unordered_map<ImplKey, bool> seen;
  for (size_t g = 0; g < inner.param_groups().size(); ++g) {
    const auto& params = inner.param_groups()[g].params();
    for (size_t i = 0; i < params.size(); ++i) {
      const ImplKey key = params[i].unsafeGetTensorImpl();
      auto named = name_of.find(key);
      if (named == name_of.end()) {
        std::ostringstream shape;
        shape << params[i].sizes();
        throw Error("DistributedOptimizer: parameter " + std::to_string(i) + " of param group " +
                    std::to_string(g) + " (shape " + shape.str() +
                    ") is not in named_parameters; pass model->named_parameters()");
      }
      if (seen[key]) {
        throw Error("DistributedOptimizer: parameter '" + named->second +
                    "' appears twice in the optimizer's param groups");
      }
      seen[key] = true;
      if (!params[i].requires_grad())
        continue;  // frozen: no gradient to reduce (step() checks that it stays so)
      impl_->hooked.insert(key);
      Impl::Slot slot;
      slot.name = named->second;
      slot.param = params[i];
      impl_->slots.push_back(std::move(slot));
    }
  }
  // The hooks point at impl_: should a registration throw, none may outlive the constructor.
  size_t registered = 0;
  try {
    for (; registered < impl_->slots.size(); ++registered) {
      Impl* impl = impl_.get();
      impl_->slots[registered].hook_index = impl_->slots[registered].param.register_hook(
          [impl, index = registered](const torch::Tensor& gradient) {
            impl->on_gradient(index, gradient);
          });
    }
  } catch (...) {
    for (size_t index = 0; index < registered; ++index)
      impl_->slots[index].param.remove_hook(impl_->slots[index].hook_index);
    throw;
  }
}

DistributedOptimizer::~DistributedOptimizer() {
  for (auto& slot : impl_->slots)
    slot.param.remove_hook(slot.hook_index);
  // Reductions still in flight keep their tensors alive in the runtime; wait so that their
  // handles do not outlive us unobserved. Errors here have nowhere to go.
  for (auto& slot : impl_->slots) {
    if (!slot.handle)
      continue;
    try {
      hvd::synchronize(*slot.handle);
    } catch (const std::exception&) {
    }
  }
}

void DistributedOptimizer::synchronize() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->reduced)
    return;
  // Parameters whose gradient never arrived (unused on this rank, or fewer passes than
  // expected) are reduced now, as zeros if they have no gradient at all.
  for (auto& slot : impl_->slots) {
    if (slot.handle)
      continue;
    const torch::Tensor& grad = slot.param.grad();
    impl_->submit_locked(slot, grad.defined() ? grad : torch::zeros_like(slot.param));
  }
  std::optional<Error> first_error;
  torch::NoGradGuard no_grad;
  for (auto& slot : impl_->slots) {
    try {
      torch::Tensor reduced = hvd::synchronize(*slot.handle);
      if (reduced.scalar_type() != slot.param.scalar_type()) {
        reduced = reduced.to(slot.param.scalar_type());
      }
      // A fresh tensor of the parameter's shape, never a view: zero_grad() detaches .grad()
      // in place, which views refuse.
      slot.param.mutable_grad() = reduced;
    } catch (const Error& e) {
      if (!first_error)
        first_error = e;
    }
    slot.handle.reset();
    slot.passes = 0;
  }
  if (first_error)
    throw *first_error;
  impl_->reduced = true;
}

torch::Tensor DistributedOptimizer::step(torch::optim::Optimizer::LossClosure closure) {
  impl_->refuse_unreduced_gradients();
  if (!impl_->skip_synchronize)
    synchronize();
  // After this step, gradients set by hand (no backward pass) are reduced again by the next.
  struct AfterStep {
    Impl* impl;
    ~AfterStep() {
      std::lock_guard<std::mutex> lock(impl->mu);
      impl->reduced = false;
    }
  } after_step{impl_.get()};
  if (!closure)
    return impl_->inner.step();
  // The inner optimizer calls the closure (once, or many times as LBFGS does) and updates
  // with .grad() straight after: each call's gradients are reduced before it returns. Its loss
  // is reduced the same way as the gradients, so that the ranks agree on it as they do on the
  // gradients: an optimizer that decides from the loss (LBFGS's line search and stopping
  // tests) then takes the same decisions, and the same number of closure calls, on every rank.
  return impl_->inner.step([this, closure = std::move(closure)] {
    torch::Tensor loss = closure();
    synchronize();
    if (!loss.defined())
      return loss;
    return allreduce(loss.detach(), impl_->options.op, "DistributedOptimizer.loss");
  });
}

void DistributedOptimizer::zero_grad() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (const auto& slot : impl_->slots) {
      if (slot.handle) {
        throw Error("DistributedOptimizer::zero_grad() was called while the reduction of '" +
                    slot.name + "' is in flight; call step() or synchronize() first");
      }
    }
    for (auto& slot : impl_->slots)
      slot.passes = 0;
    impl_->reduced = false;
  }
  impl_->inner.zero_grad();  // the inner optimizer's own semantics (1.13: zeros in place)
}

DistributedOptimizer::SkipSynchronize::SkipSynchronize(DistributedOptimizer* optimizer)
    : optimizer_(optimizer) {
  optimizer_->impl_->skip_synchronize = true;
}

DistributedOptimizer::SkipSynchronize::~SkipSynchronize() {
  optimizer_->impl_->skip_synchronize = false;
}

DistributedOptimizer::SkipSynchronize DistributedOptimizer::skip_synchronize() {
  return SkipSynchronize(this);
}

torch::optim::Optimizer& DistributedOptimizer::inner() {
  return impl_->inner;
}

}  // namespace hvd
