#include "storage/verify.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "events/codec/printable.h"
#include "events/ids.h"

namespace enclave::storage {

VerifyReport verify_log(const EventLog& log) {
  auto t0 = std::chrono::steady_clock::now();
  VerifyReport rep;
  auto fail = [&](const std::string& stream, uint64_t seq, std::string what) {
    if (!rep.ok) return;
    rep.ok = false;
    rep.stream_hex = to_hex(stream);
    rep.seq = seq;
    rep.problem = std::move(what);
  };
  auto heads = log.stored_heads();
  if (!heads) {
    fail("", 0, heads.error().message);
    return rep;
  }
  std::map<std::string, StreamHead> want(heads->begin(), heads->end());
  std::map<std::string, std::pair<uint64_t, std::string>> seen;  // stream → (last seq, hash)
  std::string cur;
  uint64_t last_seq = 0;
  std::string last_hash;
  auto close_stream = [&] {
    if (cur.empty()) return;
    seen[cur] = {last_seq, last_hash};
  };
  auto scanned = log.scan_raw_events([&](std::string_view key, std::string_view value) {
    std::string stream;
    uint64_t seq = 0;
    if (!parse_event_key(key, &stream, &seq)) {
      fail(std::string(key.substr(0, 16)), 0, "malformed event key");
      return false;
    }
    if (stream != cur) {
      close_stream();
      cur = stream;
      last_seq = 0;
      last_hash.clear();
      rep.streams++;
    }
    rep.events++;
    if (seq != last_seq + 1) {
      fail(stream, last_seq + 1,
           seq > last_seq + 1 ? "missing event (next stored is seq " + std::to_string(seq) + ")"
                              : "duplicate seq");
      return false;
    }
    events::Envelope e;
    if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      fail(stream, seq, "stored event does not parse");
      return false;
    }
    if (e.stream() != stream || e.seq() != seq) {
      fail(stream, seq,
           "stored event says it is " + to_hex(e.stream()) + "/" + std::to_string(e.seq()) +
               " (moved or swapped)");
      return false;
    }
    if (e.prev_hash() != last_hash) {
      fail(stream, seq, "prev_hash does not match the SHA-256 of seq " + std::to_string(seq - 1));
      return false;
    }
    last_seq = seq;
    last_hash = sha256(value);
    return true;
  });
  if (!scanned) fail("", 0, scanned.error().message);
  close_stream();
  if (rep.ok) {
    for (const auto& [stream, head] : want) {
      auto s = seen.find(stream);
      if (s == seen.end()) {
        fail(stream, 1, "stream head exists but the stream has no events");
        break;
      }
      if (head.seq != s->second.first) {
        fail(stream, s->second.first + 1,
             "head says seq " + std::to_string(head.seq) + " but the stream ends at seq " +
                 std::to_string(s->second.first));
        break;
      }
      if (head.hash != s->second.second) {
        fail(stream, head.seq, "head hash does not match the last stored event");
        break;
      }
    }
    if (rep.ok)
      for (const auto& [stream, s] : seen)
        if (!want.count(stream)) {
          fail(stream, s.first, "events without a stream head");
          break;
        }
  }
  if (rep.ok) {
    uint64_t refs = 0;
    auto g = log.scan_global(1, [&](const Stored& s) {
      ++refs;
      auto it = seen.find(s.envelope.stream());
      if (it == seen.end() || s.envelope.seq() > it->second.first) {
        fail(s.envelope.stream(), s.envelope.seq(), "global index names a missing event");
        return false;
      }
      return true;
    });
    if (!g)
      fail("", 0, "global index: " + g.error().message);
    else if (rep.ok && refs != rep.events)
      fail("", 0,
           "global index has " + std::to_string(refs) + " entries for " +
               std::to_string(rep.events) + " events");
  }
  if (rep.ok) {
    std::map<std::string, std::set<std::string>> by_org;  // each org's index, read once
    for (const auto& [stream, head] : want) {
      auto org = by_org.find(head.org_id);
      if (org == by_org.end()) {
        auto in_org = log.streams_of_org(head.org_id);
        org =
            by_org.emplace(head.org_id, std::set<std::string>(in_org.begin(), in_org.end())).first;
      }
      if (!org->second.count(stream)) {
        fail(stream, 0, "stream is missing from the index of org " + head.org_id);
        break;
      }
    }
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

ChainCheck verify_chain(const std::vector<Stored>& events, const StreamHead& head) {
  ChainCheck c;
  auto fail = [&](uint64_t seq, std::string what) {
    c.ok = false;
    c.seq = seq;
    c.problem = std::move(what);
    return c;
  };
  std::string prev;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i].envelope;
    uint64_t want = i + 1;
    if (e.seq() != want) return fail(want, "seq " + std::to_string(want) + " is missing or moved");
    if (e.prev_hash() != prev)
      return fail(want, "seq " + std::to_string(want) +
                            ": prevHash does not match the SHA-256 of seq " +
                            std::to_string(want - 1));
    prev = events[i].hash;
  }
  if (events.size() != head.seq)
    return fail(events.size() + 1, "the head says " + std::to_string(head.seq) + " events, " +
                                       std::to_string(events.size()) + " are stored");
  if (prev != head.hash)
    return fail(head.seq, "seq " + std::to_string(head.seq) + " does not hash to the stored head");
  return c;
}

std::string verify_json(const VerifyReport& rep) {
  google::protobuf::Struct out;
  auto& f = *out.mutable_fields();
  f["ok"].set_bool_value(rep.ok);
  f["streams"].set_number_value(static_cast<double>(rep.streams));
  f["events"].set_number_value(static_cast<double>(rep.events));
  f["seconds"].set_number_value(rep.seconds);
  if (!rep.ok) {
    // printable(): valid UTF-8 whatever the data dir held, and no terminal controls either.
    f["stream"].set_string_value(printable(rep.stream_hex));
    f["seq"].set_number_value(static_cast<double>(rep.seq));
    f["problem"].set_string_value(printable(rep.problem));
  }
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(out, &text);  // cannot fail: valid UTF-8
  return text;
}

}  // namespace enclave::storage
