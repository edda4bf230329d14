#include "http/sse.h"

namespace enclave::http {

std::string sse_frame(std::string_view event, std::string_view data) {
  std::string out = "event: ";
  out += event;
  out += '\n';
  size_t pos = 0;
  while (true) {
    size_t nl = data.find('\n', pos);
    std::string_view line = data.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += "data: ";
    out += line;
    out += '\n';
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  out += '\n';
  return out;
}

bool SseQueue::push(std::string frame, bool last) {
  std::lock_guard<std::mutex> lock(mu_);
  if (overflow_ || end_) return false;
  if (items_ + 1 > max_items_ || data_.size() + frame.size() > max_bytes_) {
    overflow_ = true;
    data_.clear();
    items_ = 0;
  } else {
    data_ += frame;
    ++items_;
    end_ = last;
  }
  if (notified_) return false;
  notified_ = true;
  return true;
}

SseQueue::Batch SseQueue::take() {
  std::lock_guard<std::mutex> lock(mu_);
  Batch b;
  b.data.swap(data_);
  b.end = end_;
  b.overflow = overflow_;
  items_ = 0;
  notified_ = false;
  return b;
}

}  // namespace enclave::http
