// Offline verification of a data dir: every stream's hash chain, its head, the global order
// index and the org index. Stops at the first problem and names the stream and seq.
#pragma once

#include <cstdint>
#include <string>

#include "storage/event_log.h"

namespace enclave::storage {

struct VerifyReport {
  bool ok = true;
  uint64_t streams = 0, events = 0;
  std::string stream_hex;  // where the first problem is
  uint64_t seq = 0;
  std::string problem;  // what is wrong, in words
  double seconds = 0;
};

// Checks, for every stream: seqs 1..n without gaps, each stored event parses and names its own
// stream and seq, each prev_hash equals the SHA-256 of the previous stored event, and the stored
// head equals (n, hash of event n); then that the global index and the org index cover exactly
// the stored events and streams. Catches a flipped byte, a deleted event, a swapped pair.
VerifyReport verify_log(const EventLog& log);

struct ChainCheck {
  bool ok = true;
  uint64_t seq = 0;     // where the first problem is
  std::string problem;  // what is wrong, in words
};

// Checks one stream's events as read back (EventLog::read_stream, from seq 1) against its stored
// head: seqs 1..n in order, each prev_hash equal to the previous event's hash, event n = head.
// Pure: what the log holds in, a verdict out.
ChainCheck verify_chain(const std::vector<Stored>& events, const StreamHead& head);

// `enclave verify --json`: one JSON object {ok, streams, events, seconds[, stream, seq, problem]}
// built as a value and printed by protobuf's JSON printer, so bytes a tampered data dir put into
// the problem text (an org id, a stream key) are a string inside it, never JSON syntax. Pure.
std::string verify_json(const VerifyReport& report);

}  // namespace enclave::storage
