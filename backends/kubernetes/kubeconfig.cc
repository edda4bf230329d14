#include "backends/kubernetes/kubeconfig.h"

#include <yaml.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "events/codec/base64.h"

namespace enclave::backends::k8s {

namespace {

// A YAML document as a small tree (scalars, maps, lists) — all a kubeconfig needs.
struct Node {
  enum Kind { kScalar, kMap, kList } kind = kScalar;
  std::string scalar;
  std::map<std::string, Node> map;
  std::vector<Node> list;
  const Node* get(const std::string& k) const {
    if (kind != kMap) return nullptr;
    auto it = map.find(k);
    return it == map.end() ? nullptr : &it->second;
  }
  std::string str(const std::string& k) const {
    const Node* n = get(k);
    return n && n->kind == kScalar ? n->scalar : "";
  }
};

Node convert(yaml_document_t* doc, yaml_node_t* n, int depth) {
  Node out;
  if (!n || depth > 32) return out;
  switch (n->type) {
    case YAML_SCALAR_NODE:
      out.scalar.assign(reinterpret_cast<const char*>(n->data.scalar.value), n->data.scalar.length);
      break;
    case YAML_SEQUENCE_NODE:
      out.kind = Node::kList;
      for (auto* i = n->data.sequence.items.start; i < n->data.sequence.items.top; ++i)
        out.list.push_back(convert(doc, yaml_document_get_node(doc, *i), depth + 1));
      break;
    case YAML_MAPPING_NODE:
      out.kind = Node::kMap;
      for (auto* p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; ++p) {
        Node k = convert(doc, yaml_document_get_node(doc, p->key), depth + 1);
        out.map[k.scalar] = convert(doc, yaml_document_get_node(doc, p->value), depth + 1);
      }
      break;
    default:
      break;
  }
  return out;
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

// `<key>-data` (base64 inline) or `<key>` (a path); "" or an error.
std::string data_or_file(const Node& n, const std::string& key, const std::string& base,
                         std::string* out) {
  if (std::string d = n.str(key + "-data"); !d.empty()) {
    auto decoded = enclave::base64_decode(d);
    *out = decoded.value_or("");
    return decoded ? "" : key + "-data is not base64";
  }
  if (std::string path = n.str(key); !path.empty()) {
    if (path.front() != '/') path = base + "/" + path;
    return read_file(path, out) ? "" : key + ": cannot read " + path;
  }
  return "";
}

const Node* named(const Node& root, const std::string& list, const std::string& name,
                  const std::string& inner) {
  const Node* l = root.get(list);
  if (!l || l->kind != Node::kList) return nullptr;
  for (const auto& e : l->list)
    if (e.str("name") == name) return e.get(inner);
  return nullptr;
}

}  // namespace

std::string parse_kubeconfig(const std::string& text, const std::string& base_dir,
                             Kubeconfig* out) {
  yaml_parser_t parser;
  yaml_document_t doc;
  if (!yaml_parser_initialize(&parser)) return "cannot initialise the YAML parser";
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  if (!yaml_parser_load(&parser, &doc)) {
    std::string e =
        std::string("kubeconfig is not YAML: ") + (parser.problem ? parser.problem : "?");
    yaml_parser_delete(&parser);
    return e;
  }
  Node root = convert(&doc, yaml_document_get_root_node(&doc), 0);
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);

  const std::string ctx_name = root.str("current-context");
  if (ctx_name.empty()) return "kubeconfig has no current-context";
  const Node* ctx = named(root, "contexts", ctx_name, "context");
  if (!ctx) return "kubeconfig: context '" + ctx_name + "' not found";
  const Node* cluster = named(root, "clusters", ctx->str("cluster"), "cluster");
  if (!cluster) return "kubeconfig: cluster '" + ctx->str("cluster") + "' not found";
  const Node* user = named(root, "users", ctx->str("user"), "user");
  Kubeconfig k;
  k.ns = ctx->str("namespace");
  std::string server = cluster->str("server");
  const std::string scheme = "https://";
  if (server.rfind(scheme, 0) != 0)
    return "kubeconfig: cluster server must be https://, got '" + server + "'";
  server = server.substr(scheme.size());
  if (auto slash = server.find('/'); slash != std::string::npos) server.resize(slash);
  if (!server.empty() && server.front() == '[') {
    auto close = server.find(']');
    if (close == std::string::npos) return "kubeconfig: malformed server address";
    k.host = server.substr(1, close - 1);
    if (close + 1 < server.size() && server[close + 1] == ':') k.port = server.substr(close + 2);
  } else if (auto colon = server.rfind(':'); colon != std::string::npos) {
    k.host = server.substr(0, colon);
    k.port = server.substr(colon + 1);
  } else {
    k.host = server;
  }
  if (k.host.empty()) return "kubeconfig: cluster server has no host";
  if (cluster->str("insecure-skip-tls-verify") == "true")
    return "kubeconfig: insecure-skip-tls-verify is refused (the API server must be verified)";
  if (auto e = data_or_file(*cluster, "certificate-authority", base_dir, &k.ca_pem); !e.empty())
    return "kubeconfig: " + e;
  if (user) {
    k.token = user->str("token");
    if (std::string tf = user->str("tokenFile"); k.token.empty() && !tf.empty()) {
      if (tf.front() != '/') tf = base_dir + "/" + tf;
      if (!read_file(tf, &k.token)) return "kubeconfig: tokenFile: cannot read " + tf;
      while (!k.token.empty() && (k.token.back() == '\n' || k.token.back() == '\r'))
        k.token.pop_back();
    }
    if (auto e = data_or_file(*user, "client-certificate", base_dir, &k.client_cert_pem);
        !e.empty())
      return "kubeconfig: " + e;
    if (auto e = data_or_file(*user, "client-key", base_dir, &k.client_key_pem); !e.empty())
      return "kubeconfig: " + e;
    if (user->get("exec") || user->get("auth-provider"))
      if (k.token.empty() && k.client_cert_pem.empty())
        return "kubeconfig: exec/auth-provider credentials are not supported; use a token or a "
               "client certificate";
  }
  if (k.token.empty() && (k.client_cert_pem.empty() || k.client_key_pem.empty()))
    return "kubeconfig: user '" + ctx->str("user") +
           "' has neither a token nor a client certificate and key";
  *out = std::move(k);
  return "";
}

std::string load_kubeconfig(const std::string& path, Kubeconfig* out) {
  std::string text;
  if (!read_file(path, &text)) return "cannot read kubeconfig " + path;
  auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? "." : path.substr(0, slash);
  if (base.empty()) base = "/";
  return parse_kubeconfig(text, base, out);
}

}  // namespace enclave::backends::k8s
