// libFuzzer target: arbitrary bytes as the control messages ranks exchange. Malformed input
// must be an error, never undefined behaviour (ASan/UBSan watch); what parses must survive a
// round trip unchanged; and parsed requests, however odd, must go through the coordinator's
// validation, fusion and stall inspection without harm.
#include <cstddef>
#include <cstdint>
#include <string>

#include "horovod_cpp/coordinator.h"
#include "horovod_cpp/logging.h"
#include "horovod_cpp/message.h"

namespace {

void require(bool ok) {
  if (!ok)
    __builtin_trap();
}

void fuzz_request_list(const std::string& bytes) {
  auto parsed = hvd::RequestList::parse(bytes);
  if (!parsed.is_ok())
    return;
  const hvd::RequestList& list = parsed.value();
  // Bytes, not fields, are compared: a NaN scale factor is never equal to itself.
  const std::string canonical = list.serialize();
  auto again = hvd::RequestList::parse(canonical);
  require(again.is_ok());
  require(again.value().serialize() == canonical);

  // Two ranks sending the same requests complete them; a third sending nothing keeps them
  // pending for the stall inspector. Both paths see every field the attacker chose.
  hvd::Coordinator pair(2, 1 << 20);
  const hvd::ResponseList out = pair.compute({list, list});
  const std::string response_bytes = out.serialize();
  auto responses = hvd::ResponseList::parse(response_bytes);
  require(responses.is_ok());
  require(responses.value().serialize() == response_bytes);
  hvd::Coordinator trio(
      3, 1 << 20, hvd::StallSettings{std::chrono::seconds(1), std::chrono::seconds(1), false});
  trio.compute({list, {}, list});
  trio.compute({{}, {}, {}}, std::chrono::steady_clock::now() + std::chrono::seconds(5));
}

void fuzz_response_list(const std::string& bytes) {
  auto parsed = hvd::ResponseList::parse(bytes);
  if (!parsed.is_ok())
    return;
  const hvd::ResponseList& list = parsed.value();
  const std::string canonical = list.serialize();
  auto again = hvd::ResponseList::parse(canonical);
  require(again.is_ok());
  require(again.value().serialize() == canonical);
  for (const hvd::Response& response : list.responses)
    (void)response.total_bytes();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hvd::set_log_level(hvd::LogLevel::Error);  // stall reports would flood the output
  return 0;
}

// The first byte picks the message kind, as the channel's framing would.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1)
    fuzz_response_list(bytes);
  else
    fuzz_request_list(bytes);
  return 0;
}
