// The runtime and CUDA graph capture (a user capturing a graph, e.g. through LibTorch's
// CUDAGraph, while hvd ops are in flight). Only compiled with HOROVOD_CPP_WITH_CUDA.
//
// A capture begun in CUDA's default (global) mode forbids "potentially unsafe" calls, such as
// cudaEventQuery and cudaStreamQuery, on every thread that has not said otherwise; one made
// anyway fails and invalidates the user's capture. The runtime's threads poll events all the
// time, and the streams they poll are never being captured, so they say otherwise (PyTorch's
// NCCL watchdog does the same, pytorch#148594). Work queued from a stream that is being
// captured would be captured instead of run, so the runtime refuses it.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "horovod_cpp/status.h"

namespace hvd {

// Puts the calling thread in cudaStreamCaptureModeRelaxed, once per thread. Only on threads
// the runtime owns (the background and finalizer threads, and the threads that abort an NCCL
// communicator): a user's thread keeps the mode its owner gave it.
void relax_capture_checks_on_runtime_thread();

// An error naming `what` if `stream` is being captured into a CUDA graph (or cannot be asked,
// e.g. the legacy default stream while another thread captures in global mode).
Status refuse_if_capturing(cudaStream_t stream, const std::string& what);

}  // namespace hvd
