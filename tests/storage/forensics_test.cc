// Forensics: verify passes an untouched log and catches a flipped byte, a deleted event and a
// swapped pair; offline replay rebuilds exactly the state the live engine served.
#define BOOST_TEST_MODULE forensics
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <rocksdb/db.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "events/ids.h"
#include "events/views/api_views.h"
#include "storage/merkle_store.h"
#include "storage/replay.h"
#include "storage/sth_service.h"
#include "storage/verify.h"
#include "storage/verify_merkle.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

namespace {

// A recorded scenario: a fleet with a hostile member, a failing batch, an interactive session.
struct Recorded {
  TempDir dir;
  std::map<std::string, std::string> live_views;  // stream hex → JSON of the live Session view
  std::string fleet_id;
  Recorded() {
    auto engine = open_engine(dir.path(), 2);
    const Principal p = default_principal();
    api::CreateFleetRequest fr;
    for (int i = 0; i < 4; ++i) *fr.add_members() = batch("print(" + std::to_string(i) + ")");
    auto hostile = batch("#@sim egress=169.254.169.254:80\n#@sim hang");
    hostile.mutable_egress()->set_kill_on_denied(true);
    *fr.add_members() = hostile;
    auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(p, fr, cb); });
    BOOST_REQUIRE(f.ok());
    fleet_id = f->id();
    auto bad =
        call<api::Session>([&](auto cb) { engine->create_session(p, batch("sys.exit(3)"), cb); });
    api::CreateSessionRequest ir;
    ir.set_exec_mode("interactive");
    auto inter = call<api::Session>([&](auto cb) { engine->create_session(p, ir, cb); });
    BOOST_REQUIRE(bad.ok() && inter.ok());
    BOOST_REQUIRE(
        wait_until([&] { return engine->get_session(p, inter->id())->phase() == "running"; }));
    api::ExecRequest x;
    x.set_code("x = 41");
    BOOST_REQUIRE(
        call<api::ExecTurnResult>([&](auto cb) { engine->exec(p, inter->id(), x, cb); }).ok());
    BOOST_REQUIRE(
        call<api::Session>([&](auto cb) { engine->teardown_session(p, inter->id(), cb); }).ok());
    BOOST_REQUIRE(wait_until([&] {
      auto l = engine->list_sessions(p, {});
      for (const auto& s : l->sessions())
        if (!s.torn_down()) return false;
      return true;
    }));
    auto l = engine->list_sessions(p, {});
    for (const auto& s : l->sessions()) {
      std::string j;
      (void)google::protobuf::util::MessageToJsonString(s, &j);
      live_views[s.id()] = j;
    }
  }
};

std::string copy_of(const std::string& dir, const std::string& name) {
  std::string to = dir + "-" + name;
  std::filesystem::remove_all(to);
  std::filesystem::copy(dir, to, std::filesystem::copy_options::recursive);
  return to;
}

// Opens a copied data dir with raw RocksDB to damage it the way an attacker with disk access
// could.
struct RawDb {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* events = nullptr;
  explicit RawDb(const std::string& dir) {
    std::vector<std::string> names;
    rocksdb::DB::ListColumnFamilies(rocksdb::Options(), dir, &names);
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    BOOST_REQUIRE(rocksdb::DB::Open(rocksdb::Options(), dir, cfs, &handles, &db).ok());
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == "events") events = handles[i];
  }
  ~RawDb() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  // The (key, value) of the nth stored event of the first stream with at least 3 events.
  std::vector<std::pair<std::string, std::string>> stream_with_three() {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), events));
    std::vector<std::pair<std::string, std::string>> run;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (!run.empty() && run.back().first.substr(0, 16) != it->key().ToString().substr(0, 16)) {
        if (run.size() >= 3) return run;
        run.clear();
      }
      run.emplace_back(it->key().ToString(), it->value().ToString());
    }
    return run;
  }
};

storage::VerifyReport verify(const std::string& dir) {
  auto log = storage::EventLog::open(dir, storage::OpenMode::kReadOnly);
  BOOST_REQUIRE(log.ok());
  return storage::verify_log(**log);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(forensics)

BOOST_AUTO_TEST_CASE(verify_passes_an_untouched_log) {
  Recorded r;
  auto rep = verify(r.dir.path());
  BOOST_CHECK_MESSAGE(rep.ok, rep.problem);
  BOOST_CHECK_GE(rep.streams, 8u);
  BOOST_CHECK_GE(rep.events, 40u);
}

BOOST_AUTO_TEST_CASE(verify_catches_a_flipped_byte_in_any_event) {
  Recorded r;
  for (size_t victim : {0, 1, 2}) {
    auto dir = copy_of(r.dir.path(), "flip" + std::to_string(victim));
    std::string stream;
    {
      RawDb raw(dir);
      auto run = raw.stream_with_three();
      BOOST_REQUIRE_GE(run.size(), 3u);
      auto [key, value] = run[victim];
      value[value.size() / 2] ^= 0x01;
      stream = to_hex(key.substr(0, 16));
      BOOST_REQUIRE(raw.db->Put(rocksdb::WriteOptions(), raw.events, key, value).ok());
    }
    auto rep = verify(dir);
    BOOST_CHECK(!rep.ok);
    BOOST_CHECK_EQUAL(rep.stream_hex, stream);
    BOOST_CHECK_GE(rep.seq, victim + 1);
    std::filesystem::remove_all(dir);
  }
}

// Issue 17: a tampered data dir whose stream head names a crafted org id must not be able to
// turn `enclave verify --json` into `{"ok":false,…,"ok":true}` (json.load keeps the last "ok").
BOOST_AUTO_TEST_CASE(verify_json_is_one_object_whatever_the_data_dir_holds) {
  Recorded rec;
  auto dir = copy_of(rec.dir.path(), "crafted-org");
  const std::string crafted = "x\",\"ok\":true,\"y\":\"\x1b]0;owned\x07\xff";
  {
    RawDb raw(dir);
    rocksdb::ColumnFamilyHandle* streams = nullptr;
    for (auto* h : raw.handles)
      if (h->GetName() == "streams") streams = h;
    BOOST_REQUIRE(streams);
    std::unique_ptr<rocksdb::Iterator> it(raw.db->NewIterator(rocksdb::ReadOptions(), streams));
    it->SeekToFirst();
    BOOST_REQUIRE(it->Valid() && it->value().size() >= 40);
    std::string head = it->value().ToString().substr(0, 40) + crafted;
    BOOST_REQUIRE(raw.db->Put(rocksdb::WriteOptions(), streams, it->key(), head).ok());
  }
  auto rep = verify(dir);
  BOOST_REQUIRE(!rep.ok);
  BOOST_CHECK(rep.problem.find(crafted) != std::string::npos);  // the crafted bytes are in it
  std::string text = storage::verify_json(rep);
  google::protobuf::Struct parsed;
  BOOST_REQUIRE_MESSAGE(google::protobuf::util::JsonStringToMessage(text, &parsed).ok(), text);
  BOOST_CHECK_EQUAL(parsed.fields().at("ok").bool_value(), false);
  BOOST_CHECK_EQUAL(parsed.fields().size(), 7u);  // ok streams events seconds stream seq problem
  BOOST_CHECK(parsed.fields().count("y") == 0);
  BOOST_CHECK(text.find('\x1b') == std::string::npos && text.find('\x07') == std::string::npos);
  // Exactly one "ok" key: count occurrences of the quoted key outside strings' escapes.
  size_t oks = 0;
  for (size_t p = text.find("\"ok\":"); p != std::string::npos; p = text.find("\"ok\":", p + 1))
    ++oks;
  BOOST_CHECK_EQUAL(oks, 1u);
  BOOST_CHECK(storage::verify_json(verify(rec.dir.path())).find("\"ok\":true") !=
              std::string::npos);
}

// Issue 17: names a tenant chose reach the operator's terminal through `enclave replay`: the text
// rendering escapes every control character, the JSON keeps the exact bytes as a string.
BOOST_AUTO_TEST_CASE(replay_output_is_safe_for_the_operator) {
  TempDir dir;
  const std::string crafted = "fleet\x1b]0;owned\x07\x1b[2J\nTAMPERED: fake line\xc2\x9b";
  std::string fleet_id;
  {
    auto engine = open_engine(dir.path(), 2);
    api::CreateFleetRequest fr;
    fr.set_name(crafted);
    *fr.add_members() = batch("print(1)");
    auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(default_principal(), fr, cb); });
    BOOST_REQUIRE(f.ok());
    fleet_id = f->id();
    BOOST_REQUIRE(wait_until(
        [&] { return engine->get_fleet(default_principal(), fleet_id)->phase() == "completed"; }));
  }
  auto log = storage::EventLog::open(dir.path(), storage::OpenMode::kReadOnly);
  BOOST_REQUIRE(log.ok());
  auto r = storage::replay_stream(**log, *from_hex_id(fleet_id), {});
  BOOST_REQUIRE(r.ok());
  std::string text = storage::replay_text(*r);
  BOOST_CHECK(text.find('\x1b') == std::string::npos);
  BOOST_CHECK(text.find('\x07') == std::string::npos);
  BOOST_CHECK(text.find("\xc2\x9b") == std::string::npos);
  BOOST_CHECK(text.find("\nTAMPERED") == std::string::npos);
  BOOST_CHECK(text.find("fleet\\e]0;owned\\x07\\e[2J\\nTAMPERED: fake line\\u{9b}") !=
              std::string::npos);
  google::protobuf::Struct parsed;
  std::string json = storage::replay_json(*r);
  BOOST_REQUIRE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
  BOOST_CHECK_EQUAL(parsed.fields().at("state").struct_value().fields().at("name").string_value(),
                    crafted);
  std::string lines;
  BOOST_REQUIRE(storage::export_jsonl(**log, &lines).ok());
  size_t n = 0;
  for (size_t start = 0, end; (end = lines.find('\n', start)) != std::string::npos;
       start = end + 1) {
    google::protobuf::Struct line;
    auto one = lines.substr(start, end - start);
    BOOST_CHECK(google::protobuf::util::JsonStringToMessage(one, &line).ok());
    BOOST_CHECK(line.fields().count("globalSeq") && line.fields().count("stream"));
    ++n;
  }
  BOOST_CHECK_GT(n, 3u);
}

BOOST_AUTO_TEST_CASE(verify_catches_a_deleted_event) {
  Recorded r;
  auto dir = copy_of(r.dir.path(), "delete");
  {
    RawDb raw(dir);
    auto run = raw.stream_with_three();
    BOOST_REQUIRE(raw.db->Delete(rocksdb::WriteOptions(), raw.events, run[1].first).ok());
  }
  auto rep = verify(dir);
  BOOST_CHECK(!rep.ok);
  BOOST_CHECK_EQUAL(rep.seq, 2u);
  BOOST_CHECK(rep.problem.find("missing") != std::string::npos);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(verify_catches_a_swapped_pair) {
  Recorded r;
  auto dir = copy_of(r.dir.path(), "swap");
  {
    RawDb raw(dir);
    auto run = raw.stream_with_three();
    BOOST_REQUIRE(
        raw.db->Put(rocksdb::WriteOptions(), raw.events, run[1].first, run[2].second).ok());
    BOOST_REQUIRE(
        raw.db->Put(rocksdb::WriteOptions(), raw.events, run[2].first, run[1].second).ok());
  }
  auto rep = verify(dir);
  BOOST_CHECK(!rep.ok);
  BOOST_CHECK_EQUAL(rep.seq, 2u);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(replay_rebuilds_the_live_views) {
  Recorded r;
  auto log = storage::EventLog::open(r.dir.path(), storage::OpenMode::kReadOnly);
  BOOST_REQUIRE(log.ok());
  BOOST_REQUIRE_EQUAL(r.live_views.size(), 7u);
  for (const auto& [hex, live] : r.live_views) {
    auto rep = storage::replay_stream(**log, *from_hex_id(hex), {});
    BOOST_REQUIRE(rep.ok());
    BOOST_CHECK_EQUAL(rep->kind, "session");
    std::string j;
    (void)google::protobuf::util::MessageToJsonString(views::session(rep->session), &j);
    BOOST_CHECK_EQUAL(j, live);
    // at every seq the fold stops exactly there, and phases only move forward
    int last_rank = -1;
    for (uint64_t n = 1; n <= rep->events.size(); ++n) {
      auto at = storage::replay_stream(**log, *from_hex_id(hex), {n, std::nullopt});
      BOOST_REQUIRE(at.ok());
      BOOST_CHECK_EQUAL(at->events.size(), n);
      BOOST_CHECK_EQUAL(at->session.last_seq, n);
      int rank = static_cast<int>(at->session.phase);
      BOOST_CHECK_GE(rank, std::min(last_rank, 3));
      last_rank = rank;
    }
  }
  auto f = storage::replay_stream(**log, *from_hex_id(r.fleet_id), {});
  BOOST_REQUIRE(f.ok());
  BOOST_CHECK_EQUAL(f->kind, "fleet");
  BOOST_CHECK_EQUAL(fleet::phase_name(fleet::aggregate(fleet::counts(f->fleet))), "partial");
  BOOST_CHECK(storage::replay_json(*f).find("\"partial\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(replay_at_each_seq_matches_what_the_engine_served_then) {
  TempDir dir;
  const Principal p = default_principal();
  std::vector<std::pair<uint64_t, std::string>> served;  // (seq, view JSON) as served live
  std::string id;
  {
    auto engine = open_engine(dir.path(), 2);
    api::CreateSessionRequest r;
    r.set_exec_mode("interactive");
    auto s = call<api::Session>([&](auto cb) { engine->create_session(p, r, cb); });
    id = s->id();
    BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, id)->phase() == "running"; }));
    auto capture = [&] {
      std::string j;
      (void)google::protobuf::util::MessageToJsonString(*engine->get_session(p, id), &j);
      served.emplace_back(engine->get_audit(p, id)->events_size(), j);
    };
    capture();
    for (int i = 0; i < 5; ++i) {  // each turn answers after its event is stored and projected
      api::ExecRequest x;
      x.set_code("#@sim sleep_ms=1");
      BOOST_REQUIRE(call<api::ExecTurnResult>([&](auto cb) { engine->exec(p, id, x, cb); }).ok());
      capture();
    }
    BOOST_REQUIRE(call<api::Session>([&](auto cb) { engine->teardown_session(p, id, cb); }).ok());
    BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, id)->torn_down(); }));
    capture();
  }
  auto log = storage::EventLog::open(dir.path(), storage::OpenMode::kReadOnly);
  BOOST_REQUIRE_EQUAL(served.size(), 7u);
  for (const auto& [seq, view] : served) {
    auto r = storage::replay_stream(**log, *from_hex_id(id), {seq, std::nullopt});
    BOOST_REQUIRE(r.ok());
    std::string j;
    (void)google::protobuf::util::MessageToJsonString(views::session(r->session), &j);
    BOOST_CHECK_EQUAL(j, view);
  }
}

BOOST_AUTO_TEST_CASE(replay_until_time_and_export) {
  Recorded r;
  auto log = storage::EventLog::open(r.dir.path(), storage::OpenMode::kReadOnly);
  auto f = storage::replay_stream(**log, *from_hex_id(r.fleet_id), {});
  TimeMs created = f->events.front().envelope.at_ms();
  auto early = storage::replay_stream(**log, *from_hex_id(r.fleet_id), {UINT64_MAX, created});
  BOOST_REQUIRE(early.ok());
  auto c = fleet::counts(early->fleet);
  BOOST_CHECK_EQUAL(c.terminal(), 0u);  // nothing had ended when the fleet was created
  std::string out;
  auto n = storage::export_jsonl(**log, &out);
  BOOST_REQUIRE(n.ok());
  BOOST_CHECK_EQUAL(static_cast<size_t>(std::count(out.begin(), out.end(), '\n')), *n);
  BOOST_CHECK_EQUAL(*storage::parse_rfc3339("2023-11-14T22:13:20.5Z"), 1'700'000'000'500);
  BOOST_CHECK(!storage::parse_rfc3339("yesterday"));
}

BOOST_AUTO_TEST_CASE(replay_shows_each_turns_code) {
  Recorded r;
  auto log = storage::EventLog::open(r.dir.path(), storage::OpenMode::kReadOnly);
  BOOST_REQUIRE(log.ok());
  bool shown = false;
  for (const auto& [id, head] : (*log)->heads()) {
    auto rep = storage::replay_stream(**log, id, {});
    if (!rep || rep->kind != "session" || rep->session.turns == 0) continue;
    for (const auto& e : rep->events)
      if (e.envelope.has_exec_turn()) BOOST_CHECK_EQUAL(e.envelope.exec_turn().code(), "x = 41");
    auto text = storage::replay_text(*rep);
    shown = text.find("| x = 41") != std::string::npos &&
            text.find("result: exit") != std::string::npos;
  }
  BOOST_CHECK(shown);
}

// ---- against whoever holds the disk: checks that need a signed tree head --------------------

namespace {

rocksdb::ColumnFamilyHandle* family(RawDb& raw, const std::string& name) {
  for (auto* h : raw.handles)
    if (h->GetName() == name) return h;
  BOOST_FAIL("no column family " + name);
  return nullptr;
}

// A signed tree head of the log in `dir` as it is now, and the key's public half.
std::pair<storage::TreeHeadSource, storage::PublicKey> head_of(const std::string& dir) {
  TempDir keys;
  BOOST_REQUIRE(storage::SigningKey::create_file(keys.path() + "/k.pem").ok());
  auto key = storage::SigningKey::load_file(keys.path() + "/k.pem");
  BOOST_REQUIRE(key.ok());
  auto log = storage::EventLog::open(dir, storage::OpenMode::kReadOnly);
  BOOST_REQUIRE(log.ok());
  storage::SthService svc(**log, *key, {});
  auto th = svc.current();
  BOOST_REQUIRE(th.ok());
  return {storage::TreeHeadSource{*th, "sth.json"}, key->public_key()};
}

storage::TransparencyReport verify_against(
    const std::string& dir, const std::pair<storage::TreeHeadSource, storage::PublicKey>& head) {
  auto log = storage::EventLog::open(dir, storage::OpenMode::kReadOnly);
  BOOST_REQUIRE(log.ok());
  storage::TransparencyOptions o;
  o.sths.push_back(head.first);
  o.public_key = head.second;
  return storage::verify_transparency(**log, o);
}

}  // namespace

BOOST_AUTO_TEST_CASE(verify_with_a_tree_head_passes_an_untouched_log) {
  Recorded r;
  auto head = head_of(r.dir.path());
  auto rep = verify_against(r.dir.path(), head);
  BOOST_CHECK_MESSAGE(rep.ok, rep.problem);
  BOOST_CHECK_GE(rep.leaves, 40u);
  BOOST_CHECK_GE(rep.snapshots, 5u);  // every ended session's snapshot matched its fold
  BOOST_CHECK(rep.signatures_checked);
}

BOOST_AUTO_TEST_CASE(verify_catches_a_rewrite_with_recomputed_hashes) {
  Recorded r;
  auto head = head_of(r.dir.path());
  auto dir = copy_of(r.dir.path(), "rewrite");
  std::string stream;
  uint64_t gseq = 0;
  {
    // The attacker rewrites the last event (one more field in its bytes), then recomputes
    // everything the disk holds about it: the global index hash, the stream head, the tree.
    RawDb raw(dir);
    auto* global = family(raw, "global");
    auto* streams = family(raw, "streams");
    auto* merkle = family(raw, "merkle");
    std::unique_ptr<rocksdb::Iterator> g(raw.db->NewIterator(rocksdb::ReadOptions(), global));
    g->SeekToLast();
    BOOST_REQUIRE(g->Valid());
    std::string gkey = g->key().ToString(), entries = g->value().ToString();
    g.reset();
    std::string last = entries.substr(entries.size() - 56);
    stream = last.substr(0, 16);
    uint64_t seq = 0;
    std::string ignored;
    BOOST_REQUIRE(storage::parse_event_key(last.substr(0, 24), &ignored, &seq));
    std::string bytes;
    BOOST_REQUIRE(raw.db->Get(rocksdb::ReadOptions(), raw.events, last.substr(0, 24), &bytes).ok());
    events::Envelope e;
    BOOST_REQUIRE(e.ParseFromString(bytes));
    gseq = e.global_seq();
    bytes += std::string("\xf8\x3e\x01", 3);  // field 999 = 1: the fold does not change
    const std::string hash = storage::sha256(bytes);
    BOOST_REQUIRE(raw.db->Put(rocksdb::WriteOptions(), raw.events, last.substr(0, 24), bytes).ok());
    entries.replace(entries.size() - 32, 32, hash);
    BOOST_REQUIRE(raw.db->Put(rocksdb::WriteOptions(), global, gkey, entries).ok());
    std::string h;
    BOOST_REQUIRE(raw.db->Get(rocksdb::ReadOptions(), streams, stream, &h).ok());
    h.replace(8, 32, hash);
    BOOST_REQUIRE(raw.db->Put(rocksdb::WriteOptions(), streams, stream, h).ok());
    // The tree: dropped, so that opening the log rebuilds it from the rewritten events.
    std::unique_ptr<rocksdb::Iterator> m(raw.db->NewIterator(rocksdb::ReadOptions(), merkle));
    std::vector<std::string> keys;
    for (m->SeekToFirst(); m->Valid(); m->Next()) keys.push_back(m->key().ToString());
    m.reset();
    for (const auto& k : keys)
      BOOST_REQUIRE(raw.db->Delete(rocksdb::WriteOptions(), merkle, k).ok());
  }
  BOOST_REQUIRE(storage::EventLog::open(dir, storage::OpenMode::kReadWrite).ok());  // rebuilds
  auto plain = verify(dir);
  BOOST_CHECK_MESSAGE(plain.ok, "without a tree head the rewrite is consistent: " + plain.problem);
  auto rep = verify_against(dir, head);
  BOOST_CHECK(!rep.ok);
  BOOST_CHECK_EQUAL(rep.global_seq, gseq);
  BOOST_CHECK_MESSAGE(rep.problem.find("different root") != std::string::npos, rep.problem);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(verify_catches_a_deleted_stream_naming_it) {
  Recorded r;
  auto head = head_of(r.dir.path());
  auto dir = copy_of(r.dir.path(), "delete-stream");
  std::string stream;
  {
    RawDb raw(dir);
    auto run = raw.stream_with_three();
    stream = run[0].first.substr(0, 16);
    for (const auto& [k, v] : run)
      BOOST_REQUIRE(raw.db->Delete(rocksdb::WriteOptions(), raw.events, k).ok());
    BOOST_REQUIRE(raw.db->Delete(rocksdb::WriteOptions(), family(raw, "streams"), stream).ok());
    BOOST_REQUIRE(raw.db->Delete(rocksdb::WriteOptions(), family(raw, "snapshots"), stream).ok());
  }
  auto rep = verify_against(dir, head);
  BOOST_CHECK(!rep.ok);
  BOOST_CHECK_EQUAL(rep.stream_hex, to_hex(stream));
  BOOST_CHECK_MESSAGE(rep.problem.find("deleted") != std::string::npos, rep.problem);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(verify_catches_a_swapped_snapshot) {
  Recorded r;
  auto head = head_of(r.dir.path());
  auto dir = copy_of(r.dir.path(), "swap-snapshot");
  {
    RawDb raw(dir);
    auto* snaps = family(raw, "snapshots");
    std::unique_ptr<rocksdb::Iterator> it(raw.db->NewIterator(rocksdb::ReadOptions(), snaps));
    std::vector<std::pair<std::string, std::string>> sessions;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      events::SessionSnapshot s;
      if (it->key().size() == 16 && s.ParseFromString(it->value().ToString()) && s.has_spec() &&
          s.turns() == 0)
        sessions.emplace_back(it->key().ToString(), it->value().ToString());
    }
    it.reset();
    BOOST_REQUIRE_GE(sessions.size(), 2u);
    // Session B's key now serves A's result (an "ended sessions' results" swap).
    BOOST_REQUIRE(
        raw.db->Put(rocksdb::WriteOptions(), snaps, sessions[1].first, sessions[0].second).ok());
  }
  BOOST_CHECK(verify(dir).ok);  // the chains alone never look at snapshots
  auto rep = verify_against(dir, head);
  BOOST_CHECK(!rep.ok);
  BOOST_CHECK_MESSAGE(rep.problem.find("snapshot") != std::string::npos, rep.problem);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
