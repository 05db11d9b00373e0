// A small CNN for 28x28 grey images: two conv blocks (conv, batch norm, ReLU, max-pool) and two
// linear layers, 225k parameters. Batch norm, and no dropout, so that a few epochs suffice.
#pragma once

#include <torch/torch.h>

struct FashionNetImpl : torch::nn::Module {
  FashionNetImpl()
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3)))),
        bn1(register_module("bn1", torch::nn::BatchNorm2d(32))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3)))),
        bn2(register_module("bn2", torch::nn::BatchNorm2d(64))),
        fc1(register_module("fc1", torch::nn::Linear(64 * 5 * 5, 128))),
        fc2(register_module("fc2", torch::nn::Linear(128, 10))) {}

  // x: [batch, 1, 28, 28] in [0, 1]; returns logits [batch, 10].
  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(bn1(conv1(x))), 2);  // 32 x 13 x 13
    x = torch::max_pool2d(torch::relu(bn2(conv2(x))), 2);  // 64 x 5 x 5
    return fc2(torch::relu(fc1(x.flatten(1))));
  }

  torch::nn::Conv2d conv1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  torch::nn::BatchNorm2d bn2;
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(FashionNet);
