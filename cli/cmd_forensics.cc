// `enclave verify` and `enclave replay`: offline forensics on a data dir. They open the log
// read-only (or as a RocksDB secondary while a server runs on it) and never write.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/json.h"
#include "cli/transparency_inputs.h"
#include "events/codec/printable.h"
#include "events/ids.h"
#include "storage/replay.h"
#include "storage/verify.h"
#include "storage/verify_merkle.h"

namespace enclave::cli {

namespace {

// Read-only first; if the server holds the dir, follow it as a secondary.
Result<std::unique_ptr<storage::EventLog>> open_offline(const std::string& dir) {
  auto log = storage::EventLog::open(dir, storage::OpenMode::kReadOnly);
  if (log) return log;
  auto secondary = storage::EventLog::open(dir, storage::OpenMode::kSecondary);
  if (secondary) return secondary;
  return log.error();
}

}  // namespace

int cmd_verify(const Args& args) {
  const std::string use =
      "verify --data-dir DIR [--sth FILE | --anchor-dir DIR] [--public-key FILE] [--json]";
  auto o = parse_options(args.words, {"data-dir", "sth", "anchor-dir", "public-key"}, {"json"});
  if (!o.error.empty() || !o.has("data-dir")) return usage(use, o.error);
  auto inputs = transparency_inputs(o.has("sth") ? o.get("sth") : "",
                                    o.has("anchor-dir") ? o.get("anchor-dir") : "",
                                    o.has("public-key") ? o.get("public-key") : "");
  if (!inputs) return fail(inputs.error().message, 2);
  auto log = open_offline(o.get("data-dir"));
  if (!log) return fail(log.error().message, 2);
  auto rep = storage::verify_log(**log);
  if (rep.ok) merge_transparency(storage::verify_transparency(**log, *inputs), rep);
  if (o.flag("json")) {
    std::cout << storage::verify_json(rep) << "\n";  // built by the JSON library
  } else if (rep.ok) {
    std::cout << "verified: " << rep.streams << " streams, " << rep.events << " events, chains "
              << "and indexes intact (" << rep.seconds << " s)\n";
  } else {
    std::cout << "TAMPERED: stream " << printable(rep.stream_hex) << " seq " << rep.seq << ": "
              << printable(rep.problem) << " (checked " << rep.streams << " streams, " << rep.events
              << " events, " << rep.seconds << " s)\n";
  }
  return rep.ok ? 0 : 1;
}

int cmd_replay(const Args& args) {
  const std::string use =
      "replay --data-dir DIR [--stream ID] [--until-seq N | --until-time RFC3339] [--json] "
      "[--export jsonl]";
  auto o = parse_options(args.words, {"data-dir", "stream", "until-seq", "until-time", "export"},
                         {"json"});
  if (!o.error.empty() || !o.has("data-dir")) return usage(use, o.error);
  storage::ReplayCut cut;
  if (o.has("until-seq")) {
    long long n = 0;
    if (!parse_uint(o.get("until-seq"), &n) || n < 1) return usage(use, "--until-seq must be ≥ 1");
    cut.until_seq = static_cast<uint64_t>(n);
  }
  if (o.has("until-time")) {
    cut.until_time = storage::parse_rfc3339(o.get("until-time"));
    if (!cut.until_time)
      return usage(use, "--until-time must be RFC 3339 UTC, e.g. 2026-11-23T12:00:00Z");
  }
  auto log = open_offline(o.get("data-dir"));
  if (!log) return fail(log.error().message, 2);
  if (o.has("export")) {
    if (o.get("export") != "jsonl") return usage(use, "--export supports jsonl");
    std::string out;
    auto n = storage::export_jsonl(**log, &out);
    if (!n) return fail(n.error().message);
    std::cout << out;
    return 0;
  }
  std::vector<std::string> streams;
  if (o.has("stream")) {
    auto id = from_hex_id(o.get("stream"));
    if (!id) return usage(use, "--stream is a 32-character hex id");
    streams.push_back(*id);
  } else {
    for (const auto& [id, head] : (*log)->heads())
      if (id != keys_stream_id() && id != orgs_stream_id()) streams.push_back(id);
    std::sort(streams.begin(), streams.end());
  }
  bool json = o.flag("json");
  bool one = o.has("stream");  // --stream: one object; otherwise always a list
  // Streamed: each element is printed by the JSON library (storage::replay_json); only the
  // list's brackets and commas are written here.
  if (json && !one) std::cout << "[";
  bool first = true;
  for (const auto& id : streams) {
    auto r = storage::replay_stream(**log, id, cut);
    if (!r) return fail(r.error().message);
    if (json) {
      std::cout << (first ? "" : ",") << storage::replay_json(*r);
    } else {
      std::cout << storage::replay_text(*r) << "\n";
    }
    first = false;
  }
  if (json) std::cout << (one ? "\n" : "]\n");
  return 0;
}

}  // namespace enclave::cli
