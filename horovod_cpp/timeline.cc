#include "horovod_cpp/timeline.h"

#include <chrono>
#include <system_error>

#include "horovod_cpp/logging.h"

namespace hvd {
namespace {

// JSON string contents: quotes, backslashes and control characters escaped.
std::string escaped(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char* kHex = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Timeline::Timeline(std::size_t queue_capacity) : queue_capacity_(queue_capacity) {}

Timeline::~Timeline() {
  stop();
}

Status Timeline::start(const std::string& path, bool mark_cycles) {
  MutexLock control(&control_mu_);
  if (active() && path == path_) {
    mark_cycles_ = mark_cycles;  // the recording goes on in the same file
    return Status::ok();
  }
  // Opened before the current recording (if any) stops, so that a path we cannot write
  // leaves it recording.
  std::ofstream next(path, std::ios::out | std::ios::trunc);
  if (!next)
    return Status::error("cannot write the timeline file '" + path + "'");
  stop_locked();
  out_ = std::move(next);
  out_ << "[\n";
  rows_.clear();
  {
    MutexLock lock(&queue_mu_);
    queue_.clear();
    dropped_ = 0;
    dropped_begins_.clear();
    stopping_ = false;
    origin_ = std::chrono::steady_clock::now();
  }
  mark_cycles_ = mark_cycles;
  try {
    writer_ = std::thread([this] { writer_loop(); });
  } catch (const std::system_error& e) {
    out_.close();
    return Status::error(std::string("cannot start the timeline's writer thread: ") + e.what());
  }
  path_ = path;
  active_.store(true, std::memory_order_release);
  return Status::ok();
}

std::int64_t Timeline::stop() {
  MutexLock control(&control_mu_);
  return stop_locked();
}

std::int64_t Timeline::stop_locked() {
  if (!writer_.joinable())
    return 0;
  active_.store(false, std::memory_order_release);
  path_.clear();
  std::int64_t dropped = 0;
  {
    MutexLock lock(&queue_mu_);
    stopping_ = true;
    dropped = dropped_;
    queue_cv_.signal_all();
  }
  writer_.join();
  if (dropped > 0) {
    out_ << "{\"name\": \"TIMELINE_DROPPED\", \"ph\": \"i\", \"s\": \"g\", \"ts\": 0, \"pid\": 0, "
            "\"args\": {\"records\": "
         << dropped << "}},\n";
    log_message(LogLevel::Warning, "the timeline dropped " + std::to_string(dropped) +
                                       " records: its writer could not keep up");
  }
  // A last event without a trailing comma closes the array as strict JSON.
  out_ << "{\"name\": \"TIMELINE_END\", \"ph\": \"i\", \"s\": \"g\", \"ts\": 0, \"pid\": 0}\n]\n";
  out_.close();
  return dropped;
}

void Timeline::begin(const std::string& tensor, const std::string& activity) {
  if (active())
    record(Phase::Begin, tensor, activity);
}

void Timeline::end(const std::string& tensor, const std::string& activity) {
  if (active())
    record(Phase::End, tensor, activity);
}

void Timeline::mark_cycle() {
  if (active() && marking_cycles())
    record(Phase::Instant, "", "CYCLE_START");
}

void Timeline::record(Phase phase, const std::string& tensor, const std::string& activity) {
  const auto now = std::chrono::steady_clock::now();
  MutexLock lock(&queue_mu_);
  if (stopping_)
    return;  // stop() raced with the active() check; its file is closed or closing
  const bool full = queue_.size() >= queue_capacity_;
  if (phase == Phase::End) {
    const auto begin_dropped = dropped_begins_.find(tensor + '\0' + activity);
    if (begin_dropped != dropped_begins_.end()) {
      dropped_begins_.erase(begin_dropped);
      ++dropped_;
      return;
    }
  } else if (full) {
    if (phase == Phase::Begin)
      dropped_begins_.insert(tensor + '\0' + activity);
    ++dropped_;
    return;
  }
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - origin_).count();
  queue_.push_back(Record{phase, tensor, activity, micros});
  if (queue_.size() == 1)
    queue_cv_.signal();
}

void Timeline::writer_loop() {
  std::deque<Record> batch;
  while (true) {
    bool stopping = false;
    {
      MutexLock lock(&queue_mu_);
      // Bounded wait: stop() also signals, this only guards against a missed wakeup.
      if (queue_.empty() && !stopping_)
        queue_cv_.wait_for(std::chrono::milliseconds(100));
      batch.swap(queue_);
      stopping = stopping_;
    }
    for (const Record& r : batch)
      write(r);
    if (!batch.empty())
      out_.flush();
    batch.clear();
    if (stopping) {
      MutexLock lock(&queue_mu_);
      if (queue_.empty())
        break;
    }
  }
  out_.flush();
}

void Timeline::write(const Record& r) {
  if (r.phase == Phase::Instant) {
    out_ << "{\"name\": \"" << escaped(r.activity)
         << "\", \"ph\": \"i\", \"s\": \"g\", \"ts\": " << r.micros << ", \"pid\": 0},\n";
    return;
  }
  auto row = rows_.find(r.tensor);
  if (row == rows_.end()) {
    row = rows_.emplace(r.tensor, static_cast<int>(rows_.size()) + 1).first;
    out_ << "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": " << row->second
         << ", \"args\": {\"name\": \"" << escaped(r.tensor) << "\"}},\n";
    out_ << "{\"name\": \"process_sort_index\", \"ph\": \"M\", \"pid\": " << row->second
         << ", \"args\": {\"sort_index\": " << row->second << "}},\n";
  }
  out_ << "{\"name\": \"" << escaped(r.activity) << "\", \"ph\": \"" << static_cast<char>(r.phase)
       << "\", \"ts\": " << r.micros << ", \"pid\": " << row->second << ", \"tid\": 0},\n";
}

}  // namespace hvd
