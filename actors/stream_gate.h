// One live stream's gate, for sessions and fleets alike: items that arrive while the first part
// (a session's recorded history, a fleet's first whole view) is being sent are held back and
// delivered after it, audit events at most once and in seq order, nothing after kEnd.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/engine_types.h"

namespace enclave {

class StreamGate {
 public:
  explicit StreamGate(std::function<void(const StreamItem&)> fn) : fn_(std::move(fn)) {}

  // What the read model's subscription calls: held while opening, delivered after.
  void live(const StreamItem& item) {
    std::lock_guard lock(mu_);
    if (opening_)
      held_.push_back(item);
    else
      deliver(item);
  }

  // Sends `first` (in order), then what was held, then kEnd if `end`; from then on live items
  // go straight through.
  void open(const std::vector<StreamItem>& first, bool end) {
    std::lock_guard lock(mu_);
    for (const auto& item : first) deliver(item);
    for (const auto& item : held_) deliver(item);
    held_.clear();
    opening_ = false;
    if (end) deliver(end_item());
  }

  static StreamItem end_item() {
    return StreamItem{StreamItem::Kind::kEnd, {}, {}, {}, 0, {}, false};
  }

 private:
  void deliver(const StreamItem& item) {  // mu_ held
    if (ended_) return;
    if (item.kind == StreamItem::Kind::kAudit) {
      if (item.audit.seq() <= last_seq_) return;
      last_seq_ = item.audit.seq();
    }
    if (item.kind == StreamItem::Kind::kEnd) ended_ = true;
    fn_(item);
  }

  std::mutex mu_;
  bool opening_ = true;
  bool ended_ = false;
  uint64_t last_seq_ = 0;
  std::vector<StreamItem> held_;
  std::function<void(const StreamItem&)> fn_;
};

}  // namespace enclave
