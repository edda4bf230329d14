// The server's egress policy (events/policy/egress_policy.h) as tables: address parsing, every
// refused range, the permit list winning, host addresses, create-time checks of allow-list entries.
#include "events/policy/egress_policy.h"

#include <boost/test/unit_test.hpp>

#include "events/requests/session_request.h"

using namespace enclave;

namespace {

egress::IpAddress ip(const char* text) {
  auto a = egress::parse_ip(text);
  BOOST_REQUIRE_MESSAGE(a.has_value(), text);
  return *a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(egress_policy)

BOOST_AUTO_TEST_CASE(addresses_parse_to_one_canonical_form) {
  struct Row {
    const char* in;
    const char* canonical;
  };
  const Row rows[] = {
      {"127.0.0.1", "127.0.0.1"},
      {"::ffff:127.0.0.1", "127.0.0.1"},  // IPv4-mapped is the same address
      {"[::FFFF:7f00:1]", "127.0.0.1"},
      {"127.1", "127.0.0.1"},  // what resolvers accept as numbers, too
      {"2130706433", "127.0.0.1"},
      {"0x7f.0.0.1", "127.0.0.1"},
      {"[::1]", "::1"},
      {"2001:DB8:0:0::1", "2001:db8::1"},
  };
  for (const auto& r : rows) BOOST_CHECK_EQUAL(egress::to_string(ip(r.in)), r.canonical);
  for (const char* bad :
       {"", "example.com", "localhost", "1.2.3.4.5", "[::1", "::1]", "1::2::3", "256.0.0.1", "[]"})
    BOOST_CHECK_MESSAGE(!egress::parse_ip(bad), bad);
}

BOOST_AUTO_TEST_CASE(every_internal_range_is_refused_and_public_ones_pass) {
  struct Row {
    const char* address;
    const char* range;  // nullptr: public
  };
  const Row rows[] = {
      {"127.0.0.1", "loopback"},
      {"127.255.255.254", "loopback"},
      {"0.0.0.0", "this_network"},
      {"0.1.2.3", "this_network"},
      {"10.0.0.1", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"100.64.0.1", "cgnat"},
      {"100.127.255.255", "cgnat"},
      {"169.254.169.254", "link_local"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.250", "multicast"},
      {"255.255.255.255", "reserved"},
      {"240.0.0.1", "reserved"},
      {"::1", "loopback"},
      {"::", "this_network"},
      {"::ffff:10.1.2.3", "private"},
      {"::ffff:169.254.169.254", "link_local"},
      {"64:ff9b::a9fe:a9fe", "link_local"},  // NAT64 form of the metadata address
      {"2002:7f00:1::", "loopback"},         // 6to4 form of 127.0.0.1
      {"::127.0.0.1", "ipv4_compatible"},
      {"fe80::1", "link_local"},
      {"febf::1", "link_local"},
      {"fc00::1", "unique_local"},
      {"fd12:3456::1", "unique_local"},
      {"ff02::1", "multicast"},
      // Public neighbours of the refused ranges.
      {"1.1.1.1", nullptr},
      {"9.255.255.255", nullptr},
      {"11.0.0.0", nullptr},
      {"100.63.255.255", nullptr},
      {"100.128.0.0", nullptr},
      {"172.15.255.255", nullptr},
      {"172.32.0.0", nullptr},
      {"169.253.255.255", nullptr},
      {"223.255.255.255", nullptr},
      {"2001:db8::1", nullptr},
      {"2606:4700::1111", nullptr},
      {"fec0::1", "site_local"},
      {"fbff::1", nullptr},
  };
  for (const auto& r : rows) {
    const auto got = egress::internal_range(ip(r.address));
    if (r.range) {
      BOOST_CHECK_MESSAGE(got && *got == r.range,
                          r.address << ": " << (got ? std::string(*got) : "public"));
    } else {
      BOOST_CHECK_MESSAGE(!got, r.address << " refused as " << std::string(got.value_or("")));
    }
    const auto d = egress::decide(egress::Policy{}, ip(r.address));
    BOOST_CHECK_EQUAL(d.allowed, r.range == nullptr);
  }
}

BOOST_AUTO_TEST_CASE(permit_list_wins_only_inside_its_ranges) {
  auto permit = egress::parse_cidr_list(" 127.0.0.2/32, 10.1.0.0/16 ,fd00:1::/32");
  BOOST_REQUIRE(permit.ok());
  egress::Policy p;
  p.permit = *permit;
  struct Row {
    const char* address;
    bool allowed;
  };
  const Row rows[] = {
      {"127.0.0.2", true},      {"::ffff:127.0.0.2", true}, {"127.0.0.1", false},
      {"127.0.0.3", false},     {"10.1.255.255", true},     {"10.2.0.0", false},
      {"fd00:1:ffff::1", true}, {"fd00:2::1", false},       {"169.254.169.254", false},
  };
  for (const auto& r : rows)
    BOOST_CHECK_MESSAGE(egress::decide(p, ip(r.address)).allowed == r.allowed, r.address);
}

BOOST_AUTO_TEST_CASE(host_interface_addresses_are_refused_even_when_public) {
  egress::Policy p;
  p.host_addresses = {ip("203.0.113.5"), ip("2001:db8::5")};
  auto d = egress::decide(p, ip("203.0.113.5"));
  BOOST_CHECK(!d.allowed);
  BOOST_CHECK_EQUAL(d.range, "host_address");
  BOOST_CHECK(!egress::decide(p, ip("::ffff:203.0.113.5")).allowed);
  BOOST_CHECK(!egress::decide(p, ip("2001:db8::5")).allowed);
  BOOST_CHECK(egress::decide(p, ip("203.0.113.6")).allowed);
  p.permit = {*egress::parse_cidr("203.0.113.0/24")};
  BOOST_CHECK(egress::decide(p, ip("203.0.113.5")).allowed);
}

BOOST_AUTO_TEST_CASE(cidr_lists_reject_what_is_not_a_range) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.1/8" /* host bits */, "example.com/8", "10.0.0.0/",
                          "10.0.0.0/x", "::/129", "127.1/32", "10.0.0.0/8/8"}) {
    auto r = egress::parse_cidr_list(std::string("1.2.3.4/32,") + bad);
    BOOST_CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) BOOST_CHECK_EQUAL(r.error().field, "egress-permit");
  }
  auto empty = egress::parse_cidr_list(" , ,");
  BOOST_REQUIRE(empty.ok());
  BOOST_CHECK(empty->empty());
  auto all = egress::parse_cidr("0.0.0.0/0");
  BOOST_REQUIRE(all.has_value());
  BOOST_CHECK(all->contains(ip("8.8.8.8")));
  BOOST_CHECK(!all->contains(ip("2001:db8::1")));  // an IPv4 range never covers IPv6
}

BOOST_AUTO_TEST_CASE(allow_list_literals_in_refused_ranges_are_refused_at_create) {
  struct Row {
    const char* entry;
    bool forbidden;
  };
  const Row rows[] = {
      {"127.0.0.1:8090", true}, {"169.254.169.254:80", true}, {"10.0.0.1:22", true},
      {"192.168.1.1:80", true}, {"[::1]:8090", true},         {"[::ffff:127.0.0.1]:80", true},
      {"2130706433:80", true},  {"0.0.0.0:80", true},         {"100.64.0.1:443", true},
      {"[fd00::1]:443", true},  {"example.com:443", false},   {"localhost:8090", false},
      {"1.1.1.1:443", false},   {"[2001:db8::1]:443", false},
  };
  for (const auto& r : rows) {
    api::CreateSessionRequest req;
    req.set_code("print(1)");
    req.mutable_egress()->set_mode("allow_list");
    req.mutable_egress()->add_allow("example.org:443");
    req.mutable_egress()->add_allow(r.entry);
    auto s = validate_session_request(req, {}, "members[1].");
    if (!r.forbidden) {
      BOOST_CHECK_MESSAGE(s.ok(), r.entry << ": " << (s.ok() ? "" : s.error().message));
      continue;
    }
    BOOST_REQUIRE_MESSAGE(!s.ok(), r.entry);
    BOOST_CHECK_EQUAL(s.error().reason, "egress_destination_forbidden");
    BOOST_CHECK_EQUAL(s.error().field, "members[1].egress.allow[1]");
    BOOST_CHECK(s.error().code == ErrorCode::kInvalidArgument);
  }
  // The operator's permit list makes an internal literal acceptable.
  RequestBounds b;
  b.egress.permit = {*egress::parse_cidr("127.0.0.2/32")};
  api::CreateSessionRequest req;
  req.set_code("print(1)");
  req.mutable_egress()->set_mode("allow_list");
  req.mutable_egress()->add_allow("127.0.0.2:9000");
  BOOST_CHECK(validate_session_request(req, b).ok());
  req.mutable_egress()->set_allow(0, "127.0.0.1:9000");
  BOOST_CHECK(!validate_session_request(req, b).ok());
}

BOOST_AUTO_TEST_SUITE_END()
