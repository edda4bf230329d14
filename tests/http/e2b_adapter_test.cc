// The E2B adapter's glue (http/e2b/adapter.cc) on a real engine with the simulator backend: the
// control-plane calls, the sandbox's endpoints with their access token, streamed answers, the
// one-call-at-a-time lanes and their cleanup, E2B timeouts. The simulator runs no Python, so a
// cell's outcome here is "not reported"; what Python does is tests/http/e2b/ on gVisor.
#define BOOST_TEST_MODULE e2b_adapter
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>

#include "http/e2b/adapter.h"
#include "http/e2b/connect_stream.h"
#include "http/routes.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::http;

namespace {

struct Answer {
  int status = 0;
  std::string body;  // the plain body, or every streamed frame concatenated
  bool streamed = false;
  google::protobuf::Struct json;  // body as a JSON object, when it is one
};

struct Fixture {
  TempDir dir;
  std::unique_ptr<Engine> engine = testing::open_engine(dir.path(), 8);
  std::unique_ptr<e2b::Adapter> adapter;

  std::string api_key;  // sent as X-API-KEY when set

  explicit Fixture(int32_t max_timeout = 1800, bool auth_disabled = true) {
    e2b::AdapterOptions o;
    o.auth_disabled = auth_disabled;  // true: org "default", role owner
    o.policy.max_timeout_seconds = max_timeout;
    adapter = std::make_unique<e2b::Adapter>(engine.get(), o);
  }
  ~Fixture() {
    adapter->detach();
    engine.reset();
  }

  // One request through the adapter, answered (and, for a stream, read to its end) within 30 s.
  Answer send(const std::string& method, const std::string& target, const std::string& body = "",
              const std::string& sandbox = "", const std::string& token = "") {
    Request req;
    req.method = method;
    req.target = target;
    req.body = body;
    req.sandbox_id = sandbox;
    req.access_token = token;
    req.x_api_key = api_key;
    auto p = std::make_shared<std::promise<Response>>();
    auto f = p->get_future();
    adapter->handle(req, [p](Response r) { p->set_value(std::move(r)); });
    BOOST_REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    Response r = f.get();
    Answer a;
    a.status = r.status;
    if (!r.stream) {
      a.body = r.body;
    } else {
      a.streamed = true;
      struct Sink {
        std::mutex mu;
        std::condition_variable cv;
        std::string data;
        bool last = false;
      };
      auto sink = std::make_shared<Sink>();
      auto sub = r.stream->subscribe([sink](std::string frame, bool last) {
        std::lock_guard lock(sink->mu);
        sink->data += frame;
        sink->last = sink->last || last;
        sink->cv.notify_all();
      });
      BOOST_REQUIRE(sub.ok());
      std::unique_lock lock(sink->mu);
      BOOST_REQUIRE(sink->cv.wait_for(lock, std::chrono::seconds(30), [&] { return sink->last; }));
      a.body = sink->data;
      lock.unlock();
      r.stream->unsubscribe(*sub);
    }
    (void)google::protobuf::util::JsonStringToMessage(a.body, &a.json);
    return a;
  }

  std::string str(const Answer& a, const std::string& field) {
    auto it = a.json.fields().find(field);
    return it == a.json.fields().end() ? "" : it->second.string_value();
  }

  std::string phase(const std::string& id) {
    auto s = engine->get_session(default_principal(), id);
    return s.ok() ? s->phase() + (s->torn_down() ? "/torn_down" : "") : "missing";
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(create_run_kill) {
  Fixture f;
  auto made = f.send("POST", "/v2/sandboxes", R"({"templateID":"code-interpreter-v1"})");
  BOOST_REQUIRE_EQUAL(made.status, 201);
  std::string id = f.str(made, "sandboxID"), token = f.str(made, "envdAccessToken");
  BOOST_CHECK(is_id(id));
  BOOST_CHECK_EQUAL(f.str(made, "envdVersion"), "0.5.7");
  BOOST_CHECK_EQUAL(f.phase(id), "running");  // create answers once the sandbox is up
  auto s = f.engine->get_session(default_principal(), id);
  BOOST_CHECK_EQUAL(s->exec_mode(), "interactive");
  BOOST_CHECK_EQUAL(s->egress().mode(), "deny_all");

  BOOST_CHECK_EQUAL(f.send("GET", "/sandboxes/" + id).status, 200);
  BOOST_CHECK_EQUAL(f.send("GET", "/health", "", id, token).status, 204);

  // A cell: streamed NDJSON that always ends with end_of_execution.
  auto cell = f.send("POST", "/execute", R"({"code":"1 + 1"})", id, token);
  BOOST_CHECK(cell.streamed);
  BOOST_CHECK(cell.body.find("\"type\":\"number_of_executions\",\"execution_count\":1") !=
              std::string::npos);
  BOOST_CHECK(cell.body.size() >= 28 &&
              cell.body.substr(cell.body.size() - 28) == "{\"type\":\"end_of_execution\"}\n");
  // A command: Connect envelopes, the start event first, the end-of-stream envelope last.
  auto cmd = f.send("POST", "/process.Process/Start",
                    e2b::connect::envelope(0, R"({"process":{"cmd":"/bin/true"}})"), id, token);
  BOOST_CHECK(cmd.streamed);
  std::vector<std::pair<uint8_t, std::string>> envelopes;
  for (size_t pos = 0; pos + 5 <= cmd.body.size() && envelopes.size() < 100;) {
    uint32_t n = 0;
    for (size_t k = 1; k <= 4; ++k) n = (n << 8) | static_cast<uint8_t>(cmd.body[pos + k]);
    envelopes.emplace_back(static_cast<uint8_t>(cmd.body[pos]), cmd.body.substr(pos + 5, n));
    pos += 5 + n;
  }
  BOOST_REQUIRE(envelopes.size() >= 2);
  BOOST_CHECK(envelopes.front().second.rfind("{\"event\":{\"start\":", 0) == 0);
  BOOST_CHECK_EQUAL(envelopes.back().first, e2b::connect::kFlagEndStream);
  BOOST_CHECK_EQUAL(f.engine->get_session(default_principal(), id)->turns(), 2u);

  BOOST_CHECK_EQUAL(f.send("DELETE", "/sandboxes/" + id).status, 204);
  BOOST_CHECK_EQUAL(f.phase(id), "killed/torn_down");
  auto again = f.send("DELETE", "/sandboxes/" + id);
  BOOST_CHECK_EQUAL(again.status, 404);
  BOOST_CHECK_EQUAL(again.json.fields().at("code").number_value(), 404);
  BOOST_CHECK_EQUAL(f.send("GET", "/sandboxes/" + id).status, 404);
  BOOST_CHECK_EQUAL(f.send("GET", "/health", "", id, token).status, 502);
  BOOST_CHECK_EQUAL(f.send("POST", "/execute", R"({"code":"1"})", id, token).status, 502);
  // No call of the sandbox is left waiting.
  BOOST_CHECK(testing::wait_until([&] { return f.adapter->live_calls() == 0; }));
}

BOOST_AUTO_TEST_CASE(tokens_and_bad_requests) {
  Fixture f;
  auto a = f.send("POST", "/sandboxes", R"({"templateID":"base"})");
  auto b = f.send("POST", "/sandboxes", R"({"templateID":"base"})");
  std::string ida = f.str(a, "sandboxID"), idb = f.str(b, "sandboxID");
  std::string ta = f.str(a, "envdAccessToken");
  BOOST_CHECK_EQUAL(f.send("POST", "/execute", R"({"code":"1"})", idb, ta).status, 401);
  BOOST_CHECK_EQUAL(f.send("POST", "/execute", R"({"code":"1"})", ida, "").status, 401);
  BOOST_CHECK_EQUAL(f.send("POST", "/execute", R"({"code":"1"})", "", ta).status, 400);
  auto bad = f.send("POST", "/execute", R"({"code":"1","language":"r"})", ida, ta);
  BOOST_CHECK_EQUAL(bad.status, 400);
  BOOST_CHECK_EQUAL(f.str(bad, "field"), "language");
  auto rpc = f.send("POST", "/process.Process/Start", "{}", idb, ta);  // wrong token: Connect error
  BOOST_CHECK_EQUAL(rpc.status, 200);
  BOOST_CHECK(rpc.body.find("\"code\":\"unauthenticated\"") != std::string::npos);
  auto field = f.send("POST", "/v2/sandboxes", R"({"templateID":"base","network":{"x":1}})");
  BOOST_CHECK_EQUAL(field.status, 400);
  BOOST_CHECK_EQUAL(f.str(field, "field"), "network");
  BOOST_CHECK_EQUAL(f.send("GET", "/sandboxes/not-an-id").status, 404);
  // Pause works (tests/backends/gvisor, e2b.gvisor); an unknown sandbox is a 404 as everywhere.
  BOOST_CHECK_EQUAL(f.send("POST", "/sandboxes/0123456789abcdef0123456789abcdef/pause").status,
                    404);
  BOOST_CHECK_EQUAL(f.send("PUT", "/execute").status, 405);
  auto unsupported = f.send("POST", "/filesystem.Filesystem/CreateWatcher", "");
  BOOST_CHECK_EQUAL(unsupported.status, 200);
  BOOST_CHECK(unsupported.body.find("\"code\":\"unimplemented\"") != std::string::npos);
  // envd's files calls (issue 20) check the token like every sandbox call; the simulator keeps
  // no working directory, which they say (the files themselves: e2b_files.gvisor).
  auto stat_other = f.send("POST", "/filesystem.Filesystem/Stat", R"({"path":"a"})", idb, ta);
  BOOST_CHECK_EQUAL(stat_other.status, 401);
  BOOST_CHECK(stat_other.body.find("\"code\":\"unauthenticated\"") != std::string::npos);
  auto stat_sim = f.send("POST", "/filesystem.Filesystem/Stat", R"({"path":"a"})", ida, ta);
  BOOST_CHECK_EQUAL(stat_sim.status, 400);
  BOOST_CHECK(stat_sim.body.find("\"code\":\"failed_precondition\"") != std::string::npos);
  BOOST_CHECK_EQUAL(f.send("GET", "/files?path=a", "", idb, ta).status, 401);
  BOOST_CHECK_EQUAL(f.send("GET", "/files?path=../x", "", ida, ta).status, 400);
  // A list shows both, as running.
  auto list = f.send("GET", "/v2/sandboxes");
  BOOST_CHECK(list.body.find(ida) != std::string::npos && list.body.find(idb) != std::string::npos);
}

// Issue 17: an envdAccessToken dies with the API key it was minted under — revoking a leaked key
// also cuts off the sandboxes created with it, at once, while the server runs.
BOOST_AUTO_TEST_CASE(tokens_die_with_their_revoked_key) {
  Fixture f(1800, /*auth_disabled=*/false);
  api::CreateKeyRequest kr;
  kr.set_role("member");
  kr.set_e2b(true);
  auto key = testing::call<api::CreatedApiKey>(
      [&](auto cb) { f.engine->create_key(default_principal(), kr, cb); });
  BOOST_REQUIRE(key.ok());
  auto other = testing::call<api::CreatedApiKey>(
      [&](auto cb) { f.engine->create_key(default_principal(), kr, cb); });
  BOOST_REQUIRE(other.ok());
  f.api_key = key->key();
  auto a = f.send("POST", "/sandboxes", R"({"templateID":"base"})");
  BOOST_REQUIRE_EQUAL(a.status, 201);
  f.api_key = other->key();
  auto b = f.send("POST", "/sandboxes", R"({"templateID":"base"})");  // the clean sibling
  BOOST_REQUIRE_EQUAL(b.status, 201);
  std::string ida = f.str(a, "sandboxID"), ta = f.str(a, "envdAccessToken");
  std::string idb = f.str(b, "sandboxID"), tb = f.str(b, "envdAccessToken");
  BOOST_CHECK_EQUAL(f.send("GET", "/health", "", ida, ta).status, 204);
  BOOST_CHECK(f.send("POST", "/execute", R"({"code":"1"})", ida, ta).streamed);

  auto revoked = testing::call<api::ApiKey>(
      [&](auto cb) { f.engine->revoke_key(default_principal(), key->id(), cb); });
  BOOST_REQUIRE(revoked.ok());
  BOOST_CHECK_EQUAL(f.send("POST", "/execute", R"({"code":"1"})", ida, ta).status, 401);
  BOOST_CHECK_EQUAL(f.send("GET", "/health", "", ida, ta).status, 502);
  f.api_key = key->key();
  BOOST_CHECK_EQUAL(f.send("GET", "/sandboxes/" + ida).status, 401);
  // The other key's sandbox goes on exactly as before.
  BOOST_CHECK_EQUAL(f.send("GET", "/health", "", idb, tb).status, 204);
  auto cell = f.send("POST", "/execute", R"({"code":"1"})", idb, tb);
  BOOST_CHECK(cell.streamed);
  BOOST_CHECK(cell.body.find("end_of_execution") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(calls_at_once_run_one_after_another) {
  Fixture f;
  auto made = f.send("POST", "/v2/sandboxes", R"({"templateID":"base"})");
  std::string id = f.str(made, "sandboxID"), token = f.str(made, "envdAccessToken");
  std::vector<std::future<Answer>> calls;
  for (int i = 0; i < 6; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      return f.send("POST", "/execute", R"({"code":"#@sim sleep_ms=20\n1"})", id, token);
    }));
  }
  std::set<std::string> counts;
  for (auto& c : calls) {
    auto a = c.get();
    auto at = a.body.find("\"execution_count\":");
    BOOST_REQUIRE(at != std::string::npos);
    counts.insert(a.body.substr(at, a.body.find('}', at) - at));
  }
  BOOST_CHECK_EQUAL(counts.size(), 6u);  // each call got its own turn
  BOOST_CHECK_EQUAL(f.engine->get_session(default_principal(), id)->turns(), 6u);
}

BOOST_AUTO_TEST_CASE(e2b_timeout_ends_the_sandbox) {
  Fixture f(600);
  BOOST_CHECK_EQUAL(
      f.send("POST", "/v2/sandboxes", R"({"templateID":"base","timeout":601})").status, 400);
  auto made = f.send("POST", "/v2/sandboxes", R"({"templateID":"base","timeout":1})");
  std::string id = f.str(made, "sandboxID");
  BOOST_CHECK(testing::wait_until([&] { return f.phase(id) == "killed/torn_down"; },
                                  std::chrono::seconds(20)));
  auto other = f.send("POST", "/v2/sandboxes", R"({"templateID":"base","timeout":600})");
  std::string id2 = f.str(other, "sandboxID");
  BOOST_CHECK_EQUAL(f.send("POST", "/sandboxes/" + id2 + "/timeout", R"({"timeout":1})").status,
                    204);
  BOOST_CHECK(testing::wait_until([&] { return f.phase(id2) == "killed/torn_down"; },
                                  std::chrono::seconds(20)));
  BOOST_CHECK_EQUAL(f.send("POST", "/sandboxes/" + id2 + "/timeout", R"({"timeout":1})").status,
                    404);
}
