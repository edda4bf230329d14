// The server's egress policy (pure): which destination addresses an allow-list may reach. A
// tenant's allow-list names host:port pairs; the operator's policy decides which *addresses* those
// may ever resolve to. By default every internal address is refused — loopback, 0/8, link-local,
// RFC 1918, CGNAT, ULA, multicast/broadcast/reserved, the IPv4-mapped (and NAT64) forms of these,
// and every address of the host's own interfaces — unless the operator permits its range
// (--egress-permit). Tenants cannot widen it: the policy is applied at create (IP literals) and by
// the proxy at connect time (to the one address it then connects to).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/error.h"

namespace enclave::egress {

// An IPv4 or IPv6 address. IPv4 is held as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so
// "127.0.0.1" and "::ffff:127.0.0.1" are the same address and classify the same.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const IpAddress&) const = default;
  bool is_v4() const;  // an IPv4-mapped address
};

// A literal address: dotted IPv4 (also the legacy forms inet_aton accepts: "127.1", "0x7f.1",
// "2130706433") or IPv6 text, optionally in brackets. nullopt for anything else (e.g. a name).
std::optional<IpAddress> parse_ip(std::string_view text);
// Canonical text: dotted quad for IPv4(-mapped), RFC 5952 for IPv6.
std::string to_string(const IpAddress& ip);

// An address range. An IPv4 prefix /n is stored as /(96+n) over the mapped form.
struct Cidr {
  IpAddress base;  // masked to the prefix
  unsigned prefix_bits = 128;
  bool contains(const IpAddress& ip) const;
};

// "10.0.0.0/8", "fd00::/8", or a bare address (/32, /128). Host bits must be zero.
std::optional<Cidr> parse_cidr(std::string_view text);
// A comma-separated list (blanks ignored), as in --egress-permit; the error names the bad entry.
[[nodiscard]] Result<std::vector<Cidr>> parse_cidr_list(std::string_view csv);

// The built-in refused range `ip` falls in ("loopback", "private", "link_local", …), or nullopt
// for a public address. Host interface addresses are not known here (see Policy).
std::optional<std::string_view> internal_range(const IpAddress& ip);

// The operator's policy. Default: refuse every internal address, permit nothing, 256 connections.
struct Policy {
  std::vector<Cidr> permit;               // --egress-permit: ranges exempt from refusal
  std::vector<IpAddress> host_addresses;  // the host's own interface addresses (refused)
  uint32_t max_connections = 256;         // --egress-max-connections, per session
};

// The reason every refusal of an internal destination carries in the audit.
inline constexpr std::string_view kInternalAddress = "internal_address";
// The reason a connection past Policy::max_connections carries.
inline constexpr std::string_view kConnectionLimit = "connection_limit";
// The reason of a destination that is not on the session's allow-list (or any connection of a
// deny_all session).
inline constexpr std::string_view kNotAllowed = "not_allowed";

struct Decision {
  bool allowed = false;
  std::string range;  // when refused: the range that refused it ("loopback", "host_address", …)
};
// Whether a connection to `ip` may be made. The permit list wins over every refusal.
Decision decide(const Policy& policy, const IpAddress& ip);

// Create-time check of one allow-list host (a name or an IP literal, brackets allowed). A name
// passes (it is checked where it is resolved, at connect time); a literal in a refused range is
// `400 egress_destination_forbidden` naming `field`.
[[nodiscard]] std::optional<Error> check_allow_host(const Policy& policy, std::string_view host,
                                                    const std::string& field);

}  // namespace enclave::egress
