#include "events/secrets.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "events/policy/egress_policy.h"
#include "events/requests/session_request.h"

namespace enclave::secrets {

namespace {

Error bad(const std::string& field, const std::string& message,
          std::string reason = "invalid_argument") {
  return make_error(ErrorCode::kInvalidArgument, std::move(reason), message, field);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// RFC 9110 token characters (a header name).
bool valid_header_name(std::string_view h) {
  static const std::string_view extra = "!#$%&'*+-.^_`|~";
  if (h.empty() || h.size() > 64) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

// Headers that frame or route the request, or speak to the proxy: a secret may not set them.
bool reserved_header(const std::string& lower_name) {
  static const std::set<std::string> reserved = {
      "host",    "content-length", "transfer-encoding",   "connection",       "upgrade", "te",
      "trailer", "keep-alive",     "proxy-authorization", "proxy-connection", "expect"};
  return reserved.count(lower_name) != 0;
}

// Printable bytes only (no CR, LF, NUL or other controls: nothing that could end a header).
bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
}

}  // namespace

State apply(State s, const events::Envelope& e) {
  if (e.payload_case() == events::Envelope::kSecretSet) {
    const auto& c = e.secret_set();
    Secret k;
    k.org_id = c.org_id();
    k.name = c.name();
    k.hosts.assign(c.hosts().begin(), c.hosts().end());
    k.header = c.header();
    k.format = c.format();
    k.nonce = c.nonce();
    k.sealed = c.sealed();
    k.created_by = c.created_by();
    k.created_at_ms = e.at_ms();
    s.by_org_name[{k.org_id, k.name}] = std::move(k);
  } else if (e.payload_case() == events::Envelope::kSecretDeleted) {
    s.by_org_name.erase({e.secret_deleted().org_id(), e.secret_deleted().name()});
  } else {
    return s;
  }
  s.last_seq = e.seq();
  return s;
}

std::vector<Secret> of_org(const State& s, const std::string& org) {
  std::vector<Secret> out;
  for (auto it = s.by_org_name.lower_bound({org, ""});
       it != s.by_org_name.end() && it->first.first == org; ++it)
    out.push_back(it->second);
  return out;
}

const Secret* find(const State& s, const std::string& org, const std::string& name) {
  auto it = s.by_org_name.find({org, name});
  return it == s.by_org_name.end() ? nullptr : &it->second;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameChars) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

std::optional<std::string> canonical_host_port(const std::string& entry) {
  if (!valid_host_port(entry)) return std::nullopt;
  const auto colon = entry.rfind(':');
  std::string host = lower(entry.substr(0, colon));
  const std::string port = entry.substr(colon + 1);
  if (auto ip = egress::parse_ip(host)) {
    const std::string text = egress::to_string(*ip);
    host = text.find(':') != std::string::npos ? "[" + text + "]" : text;
  }
  return host + ":" + std::to_string(std::stoi(port));
}

Result<Checked> check_create(const api::CreateSecretRequest& req) {
  Checked c;
  if (!valid_name(req.name()))
    return bad("name", "name must be 1..64 characters of [A-Za-z0-9_.-]");
  c.name = req.name();
  if (req.value().empty() || req.value().size() > kMaxValueBytes || !printable(req.value()))
    return bad("value", "value must be 1..8192 bytes without control characters");
  c.value = req.value();
  if (req.hosts().empty() || static_cast<size_t>(req.hosts_size()) > kMaxHosts)
    return bad("hosts", "hosts must list 1..16 \"host:port\" entries");
  for (int i = 0; i < req.hosts_size(); ++i) {
    auto hp = canonical_host_port(req.hosts(i));
    if (!hp)
      return bad("hosts[" + std::to_string(i) + "]",
                 "hosts entries are \"host:port\", not \"" + req.hosts(i).substr(0, 60) + "\"");
    if (std::find(c.hosts.begin(), c.hosts.end(), *hp) == c.hosts.end()) c.hosts.push_back(*hp);
  }
  c.header = req.header().empty() ? "Authorization" : req.header();
  if (!valid_header_name(c.header) || reserved_header(lower(c.header)))
    return bad("header",
               "header must be an HTTP header name (not Host, Content-Length, "
               "Transfer-Encoding, Connection, Upgrade or another hop-by-hop header)");
  c.format = req.format().empty() ? "Bearer {value}" : req.format();
  if (c.format.size() > kMaxFormatBytes || !printable(c.format) ||
      c.format.find("{value}") == std::string::npos)
    return bad("format",
               "format must contain {value} and at most 512 bytes without control characters");
  return c;
}

std::string render(const std::string& format, const std::string& value) {
  static constexpr std::string_view kSlot = "{value}";
  std::string out;
  size_t pos = 0;
  for (;;) {
    const auto at = format.find(kSlot, pos);
    if (at == std::string::npos) break;
    out.append(format, pos, at - pos);
    out += value;
    pos = at + kSlot.size();
  }
  out.append(format, pos, std::string::npos);
  return out;
}

std::optional<Error> copy_names(const api::CreateSessionRequest& req, events::SessionSpec* spec,
                                const std::string& pre) {
  if (static_cast<size_t>(req.secrets_size()) > kMaxPerSession)
    return bad(pre + "secrets", "a session names at most 16 secrets");
  for (int i = 0; i < req.secrets_size(); ++i) {
    const std::string field = pre + "secrets[" + std::to_string(i) + "]";
    if (!valid_name(req.secrets(i)))
      return bad(field, "secret names are 1..64 characters of [A-Za-z0-9_.-]");
    for (int j = 0; j < i; ++j)
      if (req.secrets(j) == req.secrets(i)) return bad(field, "secret named twice");
    spec->add_secrets(req.secrets(i));
  }
  return std::nullopt;
}

std::optional<Error> check_session(const events::SessionSpec& spec, const Lookup& lookup,
                                   const std::string& pre) {
  std::set<std::string> allowed;
  for (const auto& a : spec.egress().allow())
    if (auto hp = canonical_host_port(a)) allowed.insert(*hp);
  for (int i = 0; i < spec.secrets_size(); ++i) {
    const std::string field = pre + "secrets[" + std::to_string(i) + "]";
    const Secret* s = lookup(spec.secrets(i));
    if (!s) return bad(field, "no such secret: " + spec.secrets(i), "unknown_secret");
    for (const auto& h : s->hosts)
      if (!allowed.count(h))
        return bad(field,
                   "secret " + s->name + " is for " + h +
                       ", which is not on egress.allow (egress.mode \"allow_list\")",
                   "secret_host_not_allowed");
  }
  return std::nullopt;
}

}  // namespace enclave::secrets
