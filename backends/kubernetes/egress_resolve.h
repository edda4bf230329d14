// An allow-list session's host:port entries as NetworkPolicy rules. NetworkPolicy only knows
// addresses, so host names are resolved here, once, at launch, and pinned: the pod may reach only
// the addresses resolved now (README.md says what follows). Every address is checked against the
// server's egress policy; a refused one never gets a rule and is reported.
#pragma once

#include <string>
#include <vector>

#include "backends/kubernetes/objects.h"
#include "events/events.pb.h"
#include "events/policy/egress_policy.h"

namespace enclave::backends::k8s {

// An address an allow-list entry resolved to that the egress policy refuses.
struct RefusedAddress {
  std::string host;
  uint32_t port = 0;
  std::string ip;
  std::string range;  // which refused range ("loopback", "private", "host_address", …)
};

// "" and the rules (one per entry with a permitted address: those addresses as /32 or /128, its
// port; needs_dns for names) plus every refused address, or what is wrong (a malformed entry, a
// name that does not resolve).
[[nodiscard]] std::string resolve_egress(const events::Egress& egress, const egress::Policy& policy,
                                         std::vector<EgressRule>* rules,
                                         std::vector<RefusedAddress>* refused);

}  // namespace enclave::backends::k8s
