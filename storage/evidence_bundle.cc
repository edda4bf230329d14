#include "storage/evidence_bundle.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>

#include "events/codec/base64.h"
#include "events/ids.h"
#include "storage/merkle_store.h"
#include "storage/merkle_tree.h"

namespace enclave::storage {

namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  auto v = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2) return {};
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = v(hex[i]), lo = v(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

}  // namespace

Result<BundleFiles> make_bundle(const EventLog& log, const std::string& stream, const TreeHead& sth,
                                const std::string& public_pem) {
  if (!log.merkle())
    return make_error(ErrorCode::kUnavailable, "log_unavailable",
                      "the data dir has no Merkle tree");
  auto raw = log.read_stream_bytes(stream, 1, UINT64_MAX);
  if (!raw) return raw.error();
  if (raw->empty())
    return make_error(ErrorCode::kNotFound, "not_found", "no stream " + to_hex(stream));
  std::string lines;
  for (size_t i = 0; i < raw->size(); ++i) {
    events::Envelope e;
    if (!e.ParseFromString((*raw)[i]) || e.global_seq() == 0)
      return make_error(
          ErrorCode::kConflict, "proof_unavailable",
          "event " + std::to_string(i + 1) + " has no global seq (stored before the tree)");
    if (e.global_seq() > sth.tree_size)
      return make_error(ErrorCode::kInvalidArgument, "sth_too_old",
                        "the tree head (size " + std::to_string(sth.tree_size) +
                            ") does not cover event " + std::to_string(i + 1) + " (global seq " +
                            std::to_string(e.global_seq()) + "); use a newer one");
    auto path = log.merkle()->inclusion_proof(e.global_seq() - 1, sth.tree_size);
    if (!path) return path.error();
    lines += "{\"seq\":" + std::to_string(i + 1) +
             ",\"leafIndex\":" + std::to_string(e.global_seq() - 1) + ",\"eventBytes\":\"" +
             base64_encode((*raw)[i]) + "\",\"inclusionProof\":[";
    for (size_t j = 0; j < path->size(); ++j)
      lines += (j ? ",\"" : "\"") + to_hex((*path)[j]) + "\"";
    lines += "]}\n";
  }
  auto root = log.merkle()->root(sth.tree_size);
  if (!root || *root != sth.root_hash)
    return make_error(ErrorCode::kConflict, "sth_mismatch",
                      "this data dir's tree does not have the tree head's root at its size");
  return BundleFiles{
      {"sth.json", sth_json(sth) + "\n"}, {"public-key.pem", public_pem}, {"events.jsonl", lines}};
}

BundleVerdict verify_bundle(const BundleFiles& files) {
  BundleVerdict v;
  auto need = [&](const char* name) -> const std::string* {
    auto it = files.find(name);
    if (it == files.end()) {
      v.problem = std::string("the bundle has no ") + name;
      return nullptr;
    }
    return &it->second;
  };
  const auto* sth_text = need("sth.json");
  const auto* pem = sth_text ? need("public-key.pem") : nullptr;
  const auto* lines = pem ? need("events.jsonl") : nullptr;
  if (!lines) return v;
  auto sth = parse_sth_json(*sth_text);
  if (!sth) return v.problem = "sth.json: " + sth.error().message, v;
  auto key = PublicKey::from_pem(*pem);
  if (!key) return v.problem = "public-key.pem: " + key.error().message, v;
  if (!key->verifies(*sth)) return v.problem = "the tree head is not signed by the bundled key", v;
  v.tree_size = sth->tree_size;
  std::string prev_hash, stream;
  size_t pos = 0;
  while (pos < lines->size()) {
    size_t nl = lines->find('\n', pos);
    if (nl == std::string::npos) nl = lines->size();
    std::string_view line(lines->data() + pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    const uint64_t want_seq = v.events + 1;
    auto bad = [&](const std::string& what) {
      v.problem = "event " + std::to_string(want_seq) + ": " + what;
      return v;
    };
    google::protobuf::Struct obj;
    if (!google::protobuf::util::JsonStringToMessage(std::string(line), &obj).ok())
      return bad("not a JSON object");
    const auto& f = obj.fields();
    auto num = [&](const char* k) -> double {
      auto it = f.find(k);
      return it == f.end() || !it->second.has_number_value() ? -1 : it->second.number_value();
    };
    double seq = num("seq"), leaf = num("leafIndex");
    if (seq != static_cast<double>(want_seq)) return bad("seq is missing or out of order");
    if (leaf < 0 || std::floor(leaf) != leaf || leaf >= static_cast<double>(sth->tree_size))
      return bad("leafIndex is not a leaf of the tree head");
    auto eb = f.find("eventBytes");
    auto bytes = eb == f.end() || !eb->second.has_string_value()
                     ? std::nullopt
                     : base64_decode(eb->second.string_value());
    if (!bytes) return bad("eventBytes is not base64");
    std::vector<std::string> path;
    auto ip = f.find("inclusionProof");
    if (ip == f.end() || !ip->second.has_list_value() || ip->second.list_value().values_size() > 64)
      return bad("inclusionProof is not a list of at most 64 hashes");
    for (const auto& h : ip->second.list_value().values()) {
      std::string raw = h.has_string_value() ? from_hex(h.string_value()) : "";
      if (raw.size() != 32) return bad("inclusionProof has a malformed hash");
      path.push_back(std::move(raw));
    }
    const uint64_t index = static_cast<uint64_t>(leaf);
    if (!merkle::verify_inclusion(index, sth->tree_size, merkle::leaf_hash(*bytes), path,
                                  sth->root_hash))
      return bad("its inclusion proof does not verify against the signed root");
    events::Envelope e;
    if (!e.ParseFromString(*bytes)) return bad("the event bytes do not parse");
    if (want_seq == 1) stream = e.stream();
    if (e.stream() != stream || e.seq() != want_seq || e.global_seq() != index + 1)
      return bad("the event is not seq " + std::to_string(want_seq) + " of the bundle's stream");
    if (e.prev_hash() != prev_hash) return bad("prev_hash is not the previous event's SHA-256");
    prev_hash = sha256(*bytes);
    ++v.events;
  }
  if (v.events == 0) return v.problem = "the bundle has no events", v;
  v.stream_hex = to_hex(stream);
  v.ok = true;
  return v;
}

}  // namespace enclave::storage
