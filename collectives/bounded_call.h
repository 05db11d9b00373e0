// A call into a library that may never return (ncclCommAbort waiting for peers that are gone),
// made from a thread that must not hang: the call runs on a thread of its own, and the caller
// waits for it at most a given time.
#pragma once

#include <chrono>
#include <functional>

namespace hvd {

// Runs `call` on a new thread and waits at most `limit` for it to return. Returns whether it
// did. If not, the thread is left to finish on its own (or to end with the process): `call`
// must own, or leave alone, whatever it touches, since the caller moves on. Where no thread can
// be started, `call` runs on the caller's, unbounded.
bool call_within(std::function<void()> call, std::chrono::milliseconds limit);

}  // namespace hvd
