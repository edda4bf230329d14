// A small stored event for log tests: event `seq` of `stream` (an egress_denied naming host
// "h<seq>", stamped 1000 + seq ms) in `org`.
#pragma once

#include <cstdint>
#include <string>

#include "events/events.pb.h"

namespace enclave::test {

inline events::Envelope ev(const std::string& stream, uint64_t seq,
                           const std::string& org = "acme") {
  events::Envelope e;
  e.set_stream(stream);
  e.set_seq(seq);
  e.set_at_ms(1000 + static_cast<int64_t>(seq));
  e.set_org_id(org);
  e.mutable_egress_denied()->set_host("h" + std::to_string(seq));
  return e;
}

}  // namespace enclave::test
