// broadcast_parameters and broadcast_optimizer_state: make every rank start from root's model
// and optimizer state.
#include <sstream>
#include <type_traits>

#include "horovod_cpp/torch.h"
#include "torch_adapter.h"

namespace hvd {
namespace {

// The optional tensors and the step count of one parameter's state, by optimizer type. The
// field order is the wire order, identical on every rank.
struct StateFields {
  std::vector<torch::Tensor*> tensors;
  int64_t* step = nullptr;
};

StateFields fields_of(torch::optim::OptimizerParamState& state) {
  using namespace torch::optim;
  if (auto* s = dynamic_cast<SGDParamState*>(&state))
    return {{&s->momentum_buffer()}, nullptr};
  if (auto* s = dynamic_cast<AdamParamState*>(&state)) {
    return {{&s->exp_avg(), &s->exp_avg_sq(), &s->max_exp_avg_sq()}, &s->step()};
  }
  if (auto* s = dynamic_cast<AdamWParamState*>(&state)) {
    return {{&s->exp_avg(), &s->exp_avg_sq(), &s->max_exp_avg_sq()}, &s->step()};
  }
  if (auto* s = dynamic_cast<RMSpropParamState*>(&state)) {
    return {{&s->square_avg(), &s->momentum_buffer(), &s->grad_avg()}, &s->step()};
  }
  if (auto* s = dynamic_cast<AdagradParamState*>(&state))
    return {{&s->sum()}, &s->step()};
  throw Error(
      "broadcast_optimizer_state: unsupported optimizer state type (supported: SGD, "
      "Adam, AdamW, RMSprop, Adagrad)");
}

// A fresh, empty state of the optimizer's own type, for a parameter root has state for.
std::unique_ptr<torch::optim::OptimizerParamState> new_state_for(
    torch::optim::Optimizer& optimizer) {
  using namespace torch::optim;
  if (dynamic_cast<SGD*>(&optimizer))
    return std::make_unique<SGDParamState>();
  if (dynamic_cast<Adam*>(&optimizer))
    return std::make_unique<AdamParamState>();
  if (dynamic_cast<AdamW*>(&optimizer))
    return std::make_unique<AdamWParamState>();
  if (dynamic_cast<RMSprop*>(&optimizer))
    return std::make_unique<RMSpropParamState>();
  if (dynamic_cast<Adagrad*>(&optimizer))
    return std::make_unique<AdagradParamState>();
  throw Error(
      "broadcast_optimizer_state: unsupported optimizer (supported: SGD, Adam, AdamW, "
      "RMSprop, Adagrad)");
}

constexpr size_t kMaxFields = 3;

// LibTorch 1.13 keys optimizer state by the parameter's TensorImpl address as a string (written
// by an ostream, as its c10::guts::to_string did; 2.x has no such function); later versions
// key it by the address itself. Either way the key names this process's tensor.
template <class State>
auto state_key(const torch::Tensor& p) {
  using Key = typename std::decay_t<State>::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream address;
    address << p.unsafeGetTensorImpl();
    return address.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

// Ops submitted together and waited for together (synchronize_every), also when a later
// submission throws: then the destructor waits for those already submitted.
class PendingOps {
 public:
  PendingOps() = default;
  PendingOps(const PendingOps&) = delete;
  PendingOps& operator=(const PendingOps&) = delete;
  ~PendingOps() {
    try {
      synchronize_every(handles_);
    } catch (const Error&) {  // an exception is already on its way out
    }
  }

  void add(Handle h) { handles_.push_back(h); }

  void wait() {
    std::vector<Handle> handles;
    handles.swap(handles_);
    synchronize_every(handles);
  }

 private:
  std::vector<Handle> handles_;
};

}  // namespace

void broadcast_parameters(const torch::OrderedDict<std::string, torch::Tensor>& params,
                          int root_rank) {
  torch::NoGradGuard no_grad;
  PendingOps broadcasts;
  for (const auto& item : params) {
    torch::Tensor target = item.value();
    broadcasts.add(broadcast_async_(target, root_rank, "broadcast_parameters." + item.key()));
  }
  broadcasts.wait();
}

void broadcast_optimizer_state(torch::optim::Optimizer& optimizer, int root_rank) {
  torch::NoGradGuard no_grad;
  auto& states = optimizer.state();
  std::vector<torch::Tensor> params;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params())
      params.push_back(p);
  }
  const int64_t n = static_cast<int64_t>(params.size());

  // 1. Which state fields exist on root (per parameter: has-state, then one flag per field),
  //    and root's step counts and learning rates.
  auto layout = torch::zeros({n, 1 + static_cast<int64_t>(kMaxFields)}, torch::kInt64);
  auto steps = torch::zeros({n}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    auto it = states.find(state_key<decltype(states)>(params[i]));
    if (it == states.end())
      continue;
    StateFields fields = fields_of(*it->second);
    layout[i][0] = 1;
    for (size_t f = 0; f < fields.tensors.size(); ++f) {
      layout[i][1 + f] = fields.tensors[f]->defined() ? 1 : 0;
    }
    if (fields.step)
      steps[i] = *fields.step;
  }
  auto lrs = torch::zeros({static_cast<int64_t>(optimizer.param_groups().size())}, torch::kFloat64);
  for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
    lrs[g] = optimizer.param_groups()[g].options().get_lr();
  }
  PendingOps root_layout;
  root_layout.add(broadcast_async_(layout, root_rank, "broadcast_optimizer_state.layout"));
  root_layout.add(broadcast_async_(steps, root_rank, "broadcast_optimizer_state.steps"));
  root_layout.add(broadcast_async_(lrs, root_rank, "broadcast_optimizer_state.lr"));
  root_layout.wait();

  // 2. Shape this rank's state like root's, then receive every tensor in place.
  PendingOps fields_received;
  for (int64_t i = 0; i < n; ++i) {
    const auto key = state_key<decltype(states)>(params[i]);
    auto it = states.find(key);
    if (layout[i][0].item<int64_t>() == 0) {
      if (it != states.end())
        states.erase(it);
      continue;
    }
    if (it == states.end())
      it = states.emplace(key, new_state_for(optimizer)).first;
    StateFields fields = fields_of(*it->second);
    if (fields.step)
      *fields.step = steps[i].item<int64_t>();
    for (size_t f = 0; f < fields.tensors.size(); ++f) {
      torch::Tensor& field = *fields.tensors[f];
      if (layout[i][1 + f].item<int64_t>() == 0) {
        field = torch::Tensor();
        continue;
      }
      if (!field.defined())
        field = torch::zeros_like(params[i]);
      fields_received.add(broadcast_async_(
          field, root_rank,
          "broadcast_optimizer_state." + std::to_string(i) + "." + std::to_string(f)));
    }
  }
  fields_received.wait();
  for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
    optimizer.param_groups()[g].options().set_lr(lrs[g].item<double>());
  }
}

}  // namespace hvd
