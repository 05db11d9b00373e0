#include "collectives/cuda_stream_capture.h"

#include "collectives/cuda_check.h"

namespace hvd {

void relax_capture_checks_on_runtime_thread() {
  thread_local bool relaxed = false;
  if (relaxed)
    return;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
  // Fails only without a usable CUDA runtime, when the calls it would allow fail anyway.
  relaxed = cudaThreadExchangeStreamCaptureMode(&mode) == cudaSuccess;
}

Status refuse_if_capturing(cudaStream_t stream, const std::string& what) {
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  const cudaError_t asked = cudaStreamIsCapturing(stream, &capture);
  if (asked != cudaSuccess) {
    return HVD_CUDA_STATUS(asked).with_context(
        what + ": cannot tell whether the stream is capturing a CUDA graph");
  }
  if (capture != cudaStreamCaptureStatusNone) {
    return Status::error(what +
                         ": the stream is capturing a CUDA graph; hvd ops run on the runtime's "
                         "own stream and cannot be captured: queue them outside the capture");
  }
  return Status::ok();
}

}  // namespace hvd
