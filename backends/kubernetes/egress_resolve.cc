#include "backends/kubernetes/egress_resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <set>

namespace enclave::backends::k8s {

std::string resolve_egress(const events::Egress& e, const egress::Policy& policy,
                           std::vector<EgressRule>* rules, std::vector<RefusedAddress>* refused) {
  for (const auto& entry : e.allow()) {
    EgressRule r;
    std::string host;
    if (!split_host_port(entry, &host, &r.port)) return "malformed allow entry '" + entry + "'";
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* res = nullptr;
    bool literal = ::getaddrinfo(host.c_str(), nullptr, &hints, &res) == 0;
    if (!literal) {
      hints.ai_flags = 0;
      if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0)
        return "cannot resolve allow-listed host '" + host + "'";
      r.needs_dns = true;
    }
    std::set<std::string> seen, refused_seen;
    for (addrinfo* a = res; a; a = a->ai_next) {
      char buf[INET6_ADDRSTRLEN] = {};
      if (a->ai_family == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, buf,
                    sizeof buf);
      } else if (a->ai_family == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, buf,
                    sizeof buf);
      } else {
        continue;
      }
      auto ip = egress::parse_ip(buf);
      if (!ip) continue;
      const auto d = egress::decide(policy, *ip);
      if (!d.allowed) {
        if (refused_seen.insert(buf).second)
          refused->push_back(RefusedAddress{host, r.port, egress::to_string(*ip), d.range});
        continue;
      }
      seen.insert(std::string(buf) + (a->ai_family == AF_INET ? "/32" : "/128"));
    }
    if (res) ::freeaddrinfo(res);
    if (seen.empty()) continue;  // nothing permitted: no rule (the refusals are reported)
    r.cidrs.assign(seen.begin(), seen.end());
    rules->push_back(std::move(r));
  }
  return "";
}

}  // namespace enclave::backends::k8s
