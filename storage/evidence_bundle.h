// Evidence bundles: one session's stored events with their inclusion proofs, the signed tree head
// they prove against and the public key, so that the bundle alone shows what happened (no data
// dir, no server). Files of the bundle (a tar.gz made by the CLI):
//   sth.json        the STH (sth.h)
//   public-key.pem  the Ed25519 public key
//   events.jsonl    one line per event: {"seq":N,"leafIndex":N,"eventBytes":"<base64>",
//                   "inclusionProof":["<hex>",…]}
#pragma once

#include <map>
#include <string>

#include "storage/event_log.h"
#include "storage/sth.h"

namespace enclave::storage {

using BundleFiles = std::map<std::string, std::string>;  // name → content

// The bundle of `stream` against `sth` (which must cover every event of the stream).
[[nodiscard]] Result<BundleFiles> make_bundle(const EventLog& log, const std::string& stream,
                                              const TreeHead& sth, const std::string& public_pem);

struct BundleVerdict {
  bool ok = false;
  uint64_t events = 0, tree_size = 0;
  std::string stream_hex, problem;
};

// Checks a bundle with nothing else: the STH's signature with the bundled key, each event's
// inclusion proof against the STH's root, the events' hash chain (seq 1..n of one stream, each
// prev_hash the SHA-256 of the previous event's bytes). Hostile input: sizes bounded, every field
// checked.
BundleVerdict verify_bundle(const BundleFiles& files);

}  // namespace enclave::storage
