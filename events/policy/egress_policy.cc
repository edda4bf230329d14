#include "events/policy/egress_policy.h"

#include <arpa/inet.h>

#include <cstring>

namespace enclave::egress {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

IpAddress from_v4(uint32_t host_order) {
  IpAddress a;
  std::memcpy(a.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size());
  a.bytes[12] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[13] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[14] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[15] = static_cast<uint8_t>(host_order);
  return a;
}

uint32_t v4_of(const IpAddress& a) {
  return static_cast<uint32_t>(a.bytes[12]) << 24 | static_cast<uint32_t>(a.bytes[13]) << 16 |
         static_cast<uint32_t>(a.bytes[14]) << 8 | a.bytes[15];
}

bool in_v4(uint32_t ip, uint32_t base, unsigned bits) {
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (ip & mask) == base;
}

std::optional<std::string_view> v4_range(uint32_t ip) {
  struct Range {
    uint32_t base;
    unsigned bits;
    std::string_view name;
  };
  static constexpr Range kRanges[] = {
      {0x00000000, 8, "this_network"},   // 0/8
      {0x0a000000, 8, "private"},        // 10/8
      {0x64400000, 10, "cgnat"},         // 100.64/10
      {0x7f000000, 8, "loopback"},       // 127/8
      {0xa9fe0000, 16, "link_local"},    // 169.254/16 (cloud metadata)
      {0xac100000, 12, "private"},       // 172.16/12
      {0xc0000000, 24, "special"},       // 192.0.0/24 (IETF protocol assignments)
      {0xc0a80000, 16, "private"},       // 192.168/16
      {0xc6120000, 15, "benchmarking"},  // 198.18/15
      {0xe0000000, 4, "multicast"},      // 224/4
      {0xf0000000, 4, "reserved"},       // 240/4, incl. 255.255.255.255 broadcast
  };
  for (const auto& r : kRanges)
    if (in_v4(ip, r.base, r.bits)) return r.name;
  return std::nullopt;
}

bool has_prefix(const IpAddress& a, std::initializer_list<uint8_t> prefix, unsigned bits) {
  size_t i = 0;
  for (uint8_t p : prefix) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const uint8_t mask = static_cast<uint8_t>(0xff00u >> take);
    if ((a.bytes[i] & mask) != (p & mask)) return false;
    bits -= take;
    ++i;
    if (bits == 0) return true;
  }
  return true;
}

}  // namespace

bool IpAddress::is_v4() const {
  return std::memcmp(bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 64) return std::nullopt;
  const std::string s(text);
  IpAddress a;
  if (s.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return std::nullopt;
    return a;
  }
  // inet_aton accepts what resolvers accept as numbers ("127.1", "0x7f.0.0.1", "2130706433"):
  // each of those is the same address to getaddrinfo, so each must classify as that address.
  in_addr v4{};
  if (inet_aton(s.c_str(), &v4) == 0) return std::nullopt;
  return from_v4(ntohl(v4.s_addr));
}

std::string to_string(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip.is_v4()) {
    in_addr v4{htonl(v4_of(ip))};
    inet_ntop(AF_INET, &v4, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof buf);
  }
  return buf;
}

bool Cidr::contains(const IpAddress& ip) const {
  unsigned bits = prefix_bits;
  for (size_t i = 0; i < 16 && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const uint8_t mask = static_cast<uint8_t>(0xff00u >> take);
    if ((ip.bytes[i] & mask) != base.bytes[i]) return false;
    bits -= take;
  }
  return true;
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  // Only canonical dotted quads here: an operator's range is not a place for "127.1".
  if (addr.find(':') == std::string_view::npos) {
    in_addr probe{};
    if (inet_pton(AF_INET, std::string(addr).c_str(), &probe) != 1) return std::nullopt;
  }
  auto ip = parse_ip(addr);
  if (!ip) return std::nullopt;
  const unsigned width = ip->is_v4() && addr.find(':') == std::string_view::npos ? 32 : 128;
  unsigned bits = width;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    bits = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      bits = bits * 10 + static_cast<unsigned>(c - '0');
    }
    if (bits > width) return std::nullopt;
  }
  Cidr c;
  c.prefix_bits = width == 32 ? bits + 96 : bits;
  unsigned left = c.prefix_bits;
  for (size_t i = 0; i < 16; ++i) {
    const unsigned take = left >= 8 ? 8 : left;
    const uint8_t mask = static_cast<uint8_t>(0xff00u >> take);
    if ((ip->bytes[i] & ~mask & 0xff) != 0) return std::nullopt;  // host bits set
    c.base.bytes[i] = ip->bytes[i];
    left -= take;
  }
  return c;
}

Result<std::vector<Cidr>> parse_cidr_list(std::string_view csv) {
  std::vector<Cidr> out;
  size_t start = 0;
  while (start <= csv.size()) {
    const auto comma = csv.find(',', start);
    auto item = csv.substr(start, comma == std::string_view::npos ? csv.npos : comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) {
      auto c = parse_cidr(item);
      if (!c)
        return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                          "not a CIDR range: \"" + std::string(item.substr(0, 60)) + "\"",
                          "egress-permit");
      out.push_back(*c);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::optional<std::string_view> internal_range(const IpAddress& ip) {
  if (ip.is_v4()) return v4_range(v4_of(ip));
  // NAT64 (64:ff9b::/96) and IPv4-compatible (::/96) addresses carry an IPv4 address: judge that.
  if (has_prefix(ip, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96))
    return v4_range(v4_of(ip));
  if (has_prefix(ip, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 96)) {
    if (ip.bytes[15] <= 1 && v4_of(ip) <= 1) return ip.bytes[15] ? "loopback" : "this_network";
    return "ipv4_compatible";  // deprecated form, never a legitimate destination
  }
  if (has_prefix(ip, {0xfe, 0x80}, 10)) return "link_local";  // fe80::/10
  if (has_prefix(ip, {0xfe, 0xc0}, 10)) return "site_local";  // fec0::/10 (deprecated)
  if (has_prefix(ip, {0xfc}, 7)) return "unique_local";       // fc00::/7
  if (has_prefix(ip, {0xff}, 8)) return "multicast";          // ff00::/8
  // 6to4 (2002::/16) embeds an IPv4 address in bytes 2..5.
  if (has_prefix(ip, {0x20, 0x02}, 16)) {
    const uint32_t v4 = static_cast<uint32_t>(ip.bytes[2]) << 24 |
                        static_cast<uint32_t>(ip.bytes[3]) << 16 |
                        static_cast<uint32_t>(ip.bytes[4]) << 8 | ip.bytes[5];
    return v4_range(v4);
  }
  return std::nullopt;
}

Decision decide(const Policy& policy, const IpAddress& ip) {
  for (const auto& c : policy.permit)
    if (c.contains(ip)) return Decision{true, ""};
  if (auto range = internal_range(ip)) return Decision{false, std::string(*range)};
  for (const auto& h : policy.host_addresses)
    if (h == ip) return Decision{false, "host_address"};
  return Decision{true, ""};
}

std::optional<Error> check_allow_host(const Policy& policy, std::string_view host,
                                      const std::string& field) {
  auto ip = parse_ip(host);
  if (!ip) return std::nullopt;
  const auto d = decide(policy, *ip);
  if (d.allowed) return std::nullopt;
  return make_error(ErrorCode::kInvalidArgument, "egress_destination_forbidden",
                    field + ": " + to_string(*ip) + " is an internal address (" + d.range +
                        ") the server's egress policy refuses",
                    field);
}

}  // namespace enclave::egress
