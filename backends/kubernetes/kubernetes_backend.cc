#include "backends/kubernetes/kubernetes_backend.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "backends/kubernetes/api_client.h"
#include "backends/kubernetes/egress_resolve.h"
#include "backends/kubernetes/exec_stream.h"
#include "backends/kubernetes/json.h"
#include "backends/kubernetes/kubeconfig.h"
#include "backends/kubernetes/namespace_watch.h"
#include "backends/kubernetes/pod_exit.h"
#include "backends/kubernetes/pod_log.h"
#include "backends/kubernetes/pod_watch.h"
#include "backends/live_output_cap.h"
#include "backends/runner/runner_py.h"

namespace enclave::backends {
namespace k8s {
extern const char kPodEntryPy[];  // backends/kubernetes/pod_entry.py, embedded (CMakeLists.txt)
}  // namespace k8s

namespace {

using namespace k8s;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kManagedSelector = url_encode(std::string(kManagedBy) + "=enclave");

std::string session_selector(const std::string& sid) {
  return url_encode(std::string(kSessionLabel) + "=" + sid);
}

struct Session {
  std::string id, org, ns;
  bool interactive = false;
  bool started = false;
  bool finishing = false;  // a finish or a kill owns the rest of this session's life
  bool has_policy = false;
  bool pod_created = false;  // the API server accepted the pod (or it was adopted)
  Clock::time_point since = Clock::now();
  // Held for the whole of creating the objects and of ending the session, so that a kill() that
  // arrives while the objects are being created deletes them after they exist, never before.
  std::mutex ops;
};

class KubernetesBackend final : public Backend {
 public:
  KubernetesBackend(KubernetesConfig config, Sink sink)
      : config_(std::move(config)), sink_(std::move(sink)) {
    Kubeconfig kc;
    init_error_ = load_kubeconfig(config_.kubeconfig_path, &kc);
    if (init_error_.empty()) init_error_ = make_api_client(kc, &api_);
    // Two lanes: a launch waiting for quota room must never keep the finishes that free that
    // room from running.
    for (int i = 0; i < std::max(1, config_.workers); ++i) {
      workers_.emplace_back([this] { work(kLaunchLane); });
      workers_.emplace_back([this] { work(kEndLane); });
    }
  }

  ~KubernetesBackend() override { shutdown(); }

  std::string name() const override { return "kubernetes"; }

  void launch(const LaunchSpec& ls) override {
    if (!init_error_.empty()) {
      fail(ls.session_id, "kubeconfig: " + init_error_, {});
      return;
    }
    auto s = std::make_shared<Session>();
    s->id = ls.session_id;
    s->org = ls.org_id.empty() ? "default" : ls.org_id;
    s->ns = namespace_for_org(s->org);
    s->interactive = ls.spec.exec_mode() == events::EXEC_MODE_INTERACTIVE;
    {
      std::lock_guard lock(mu_);
      if (stopping_ || sessions_.count(s->id)) return;
      sessions_[s->id] = s;
    }
    post(kLaunchLane, [this, s, spec = ls.spec] { create_objects(s, spec); });
  }

  void exec_turn(const std::string& sid, uint32_t turn, const std::string& code,
                 int64_t timeout_ms) override {
    std::shared_ptr<Session> s = find(sid);
    std::vector<std::thread> done;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      // Threads of turns that have ended are joined here, so they never pile up.
      for (uint64_t n : turns_done_) {
        done.push_back(std::move(turn_threads_[n]));
        turn_threads_.erase(n);
      }
      turns_done_.clear();
      const uint64_t n = next_turn_thread_++;
      turn_threads_[n] = std::thread([this, s, sid, turn, code, timeout_ms, n] {
        run_turn(s, sid, turn, code, timeout_ms);
        std::lock_guard lock(mu_);
        turns_done_.push_back(n);
      });
    }
    for (auto& t : done) t.join();
  }

  void kill(const std::string& sid, const std::string& reason) override {
    std::shared_ptr<Session> s = find(sid);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      if (s && s->finishing) return;  // its finish reports Exited and Removed
      if (s) s->finishing = true;
    }
    post(kEndLane, [this, s, sid, reason] {
      if (s) {
        end_session(s, std::nullopt, "killed: " + reason);
      } else {
        remove_leftovers(sid);
      }
    });
  }

  bool adopt(const std::string& sid) override {
    if (!api_) return false;
    auto r = api_->request("GET", "/api/v1/pods?labelSelector=" + session_selector(sid));
    if (!r.ok()) return false;
    auto list = parse(r.body);
    if (!list) return false;
    for (const Json* item : list_at(*list, "items")) {
      PodView v = pod_view(*item);
      if (v.session_id != sid || v.deleting) continue;
      auto s = std::make_shared<Session>();
      s->id = sid;
      s->ns = v.ns;
      s->org = annotation_of(*item, kOrgAnnotation);
      for (const Json* c : list_at(*item, "spec.containers"))
        for (const Json* a : list_at(*c, "command"))
          if (a->string_value() == "kernel") s->interactive = true;
      auto pol = api_->request("GET", "/apis/networking.k8s.io/v1/namespaces/" + s->ns +
                                          "/networkpolicies/" + egress_policy_name(sid));
      s->has_policy = pol.ok();
      s->pod_created = true;
      {
        std::lock_guard lock(mu_);
        if (stopping_) return false;
        sessions_[sid] = s;
      }
      ensure_watch(s->ns);
      // The namespace's watch may have listed before this session was known, and a finished
      // pod never changes again: report what the pod shows now (on_pod is idempotent).
      on_pod(v);
      return true;
    }
    return false;
  }

  std::vector<std::string> cleanup_orphans(const std::set<std::string>& keep) override {
    std::vector<std::string> lines;
    if (!api_) return lines;
    auto ours = [&](const std::string& sid) {
      std::lock_guard lock(mu_);
      return keep.count(sid) != 0 || sessions_.count(sid) != 0;
    };
    const std::string any_session = url_encode(std::string(kSessionLabel));
    std::set<std::pair<std::string, std::string>> stale;  // (ns, session)
    for (const char* path :
         {"/api/v1/pods", "/api/v1/configmaps", "/apis/networking.k8s.io/v1/networkpolicies"}) {
      auto r = api_->request("GET", std::string(path) + "?labelSelector=" + any_session);
      auto list = r.ok() ? parse(r.body) : std::nullopt;
      if (!list) {
        lines.push_back(std::string("could not list ") + path + ": " + r.describe());
        continue;
      }
      for (const Json* item : list_at(*list, "items")) {
        std::string sid = label_of(*item, kSessionLabel);
        if (!sid.empty() && !ours(sid)) stale.insert({str_at(*item, "metadata.namespace"), sid});
      }
    }
    for (const auto& [ns, sid] : stale) {
      delete_session_objects(ns, sid, true, 0);
      lines.push_back("pod, configmap and policy of session " + sid + " deleted in " + ns);
    }
    return lines;
  }

  void shutdown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      if (stopping_ && workers_.empty() && watchers_.empty() && turn_threads_.empty()) return;
      stopping_ = true;
      for (auto& t : workers_) threads.push_back(std::move(t));
      for (auto& [ns, t] : watchers_) threads.push_back(std::move(t));
      for (auto& [n, t] : turn_threads_) threads.push_back(std::move(t));
      workers_.clear();
      watchers_.clear();
      turn_threads_.clear();
    }
    stop_ = true;
    cv_.notify_all();
    for (auto& t : threads)
      if (t.joinable()) t.join();
    // Pods stay: a restarted control plane adopts them (adopt()) or ends them.
  }

 private:
  // ---- the work queue ------------------------------------------------------------------------
  static constexpr int kLaunchLane = 0;  // creating objects (may wait for quota room)
  static constexpr int kEndLane = 1;     // finishes and kills (delete objects, free quota)

  void post(int lane, std::function<void()> task) {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    tasks_[lane].push_back(std::move(task));
    cv_.notify_all();
  }

  void work(int lane) {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !tasks_[lane].empty(); });
        if (stopping_) return;
        task = std::move(tasks_[lane].front());
        tasks_[lane].pop_front();
      }
      task();
    }
  }

  // Waits up to `d` unless the backend stops first; false when stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return stopping_; });
  }

  std::shared_ptr<Session> find(const std::string& sid) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(sid);
    return it == sessions_.end() ? nullptr : it->second;
  }

  void emit(const std::string& sid, Event e) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    sink_(sid, std::move(e));
  }

  // ---- creating a session's objects ----------------------------------------------------------
  // POST, treating 409 AlreadyExists as done.
  HttpResult create(const std::string& collection, const Json& obj) {
    auto r = api_->request("POST", collection, to_text(obj));
    if (r.status == 409) r.status = 200;
    return r;
  }

  // The org's namespace, service account, default-deny policy and quota, once per process.
  std::string ensure_org(const std::string& ns, const std::string& org) {
    std::lock_guard org_lock(org_mu_);
    if (ready_ns_.count(ns)) return "";
    const std::string base = "/api/v1/namespaces/" + ns;
    if (auto r = create("/api/v1/namespaces", namespace_object(ns, org)); !r.ok())
      return "namespace " + ns + ": " + r.describe();
    if (auto r = create(base + "/serviceaccounts", service_account_object(ns)); !r.ok())
      return "service account in " + ns + ": " + r.describe();
    if (auto r = create("/apis/networking.k8s.io/v1/namespaces/" + ns + "/networkpolicies",
                        default_deny_policy(ns));
        !r.ok())
      return "default-deny NetworkPolicy in " + ns + ": " + r.describe();
    Json quota = resource_quota(ns, config_.org_quota);
    auto r = api_->request("POST", base + "/resourcequotas", to_text(quota));
    if (r.status == 409) {  // keep the configured limits current
      r = api_->request("PATCH", base + "/resourcequotas/" + kQuotaName,
                        to_text(jobj({{"spec", *at(quota, "spec")}})),
                        "application/merge-patch+json");
    }
    if (!r.ok()) return "ResourceQuota in " + ns + ": " + r.describe();
    ready_ns_.insert(ns);
    return "";
  }

  void create_objects(const std::shared_ptr<Session>& s, const events::SessionSpec& spec) {
    std::lock_guard ops(s->ops);
    {
      std::lock_guard lock(mu_);
      if (s->finishing) return;  // killed before its objects were made: the kill reports
    }
    if (auto e = ensure_org(s->ns, s->org); !e.empty()) return fail_session(s, e);
    ensure_watch(s->ns);
    std::map<std::string, std::string> files{{"runner.py", runner::kRunnerPy},
                                             {"pod_entry.py", k8s::kPodEntryPy},
                                             {"code.py", spec.code()},
                                             {"stdin", spec.stdin()}};
    const std::string base = "/api/v1/namespaces/" + s->ns;
    if (auto r = create(base + "/configmaps", code_configmap(s->ns, s->id, s->org, files)); !r.ok())
      return fail_session(s, "ConfigMap: " + r.describe());
    if (spec.egress().mode() == "allow_list" && spec.egress().allow_size() > 0) {
      std::vector<EgressRule> rules;
      std::vector<RefusedAddress> refused;
      if (auto e = resolve_egress(spec.egress(), config_.egress_policy, &rules, &refused);
          !e.empty())
        return fail_session(s, e);
      for (auto& x : refused)
        emit(s->id, EgressDenied{std::move(x.host), x.port, std::move(x.ip),
                                 std::string(egress::kInternalAddress)});
      s->has_policy = true;
      if (auto r = create("/apis/networking.k8s.io/v1/namespaces/" + s->ns + "/networkpolicies",
                          egress_policy(s->ns, s->id, s->org, rules));
          !r.ok())
        return fail_session(s, "egress NetworkPolicy: " + r.describe());
    }
    PodParams p;
    p.ns = s->ns;
    p.session_id = s->id;
    p.org_id = s->org;
    p.image = config_.image;
    if (!spec.image().empty() && spec.image() != "default") {
      auto it = config_.images.find(spec.image());
      if (it == config_.images.end())
        return fail_session(s,
                            "no container image for image \"" + spec.image() + "\" (--k8s-image)");
      p.image = it->second;
    }
    p.runtime_class = config_.runtime_class;
    p.interactive = s->interactive;
    p.limits = spec.limits();
    p.env.insert(spec.env().begin(), spec.env().end());
    p.active_deadline_seconds =
        s->interactive ? config_.interactive_deadline_seconds
                       : spec.limits().wall_clock_seconds() + config_.wall_clock_grace_seconds;
    p.output_cap_bytes = config_.output_cap_bytes;
    p.result_cap_bytes = config_.result_cap_bytes;
    // The org's ResourceQuota may be full for now (pods of ended sessions are still counted
    // until the quota controller catches up): wait for room, bounded, like a pending pod would.
    const Json pod = session_pod(p);
    const auto give_up = Clock::now() + std::chrono::seconds(config_.quota_wait_seconds);
    HttpResult r = create(base + "/pods", pod);
    while (r.status == 403 && r.body.find("exceeded quota") != std::string::npos &&
           Clock::now() < give_up && pause(250ms)) {
      {
        std::lock_guard lock(mu_);
        if (s->finishing) return;  // killed while waiting: end_session deletes the rest
      }
      r = create(base + "/pods", pod);
    }
    if (!r.ok()) return fail_session(s, "Pod: " + r.describe());
    {
      std::lock_guard lock(mu_);
      s->pod_created = true;  // from here the watch reports it
    }
  }

  // A launch that could not complete: whatever was created is deleted.
  void fail_session(const std::shared_ptr<Session>& s, const std::string& why) {
    {
      std::lock_guard lock(mu_);
      if (s->finishing) return;
      s->finishing = true;
    }
    delete_session_objects(s->ns, s->id, s->has_policy, 0);
    fail(s->id, why, s);
  }

  void fail(const std::string& sid, const std::string& why, const std::shared_ptr<Session>& s) {
    Exited ex;
    ex.exit.set_exit_code(-1);
    ex.exit.set_detail("sandbox could not be created: " + why);
    emit(sid, std::move(ex));
    forget(sid);
    emit(sid, Removed{s ? "nothing left in " + s->ns : "nothing was created"});
  }

  void forget(const std::string& sid) {
    std::lock_guard lock(mu_);
    sessions_.erase(sid);
  }

  // ---- watching an org's pods ----------------------------------------------------------------
  void ensure_watch(const std::string& ns) {
    std::lock_guard lock(mu_);
    if (stopping_ || watchers_.count(ns)) return;
    watchers_[ns] = std::thread([this, ns] {
      watch_namespace_pods(
          *api_, ns, kManagedSelector, stop_,
          {[this](const PodView& v) { on_pod(v); },
           [this](const std::string& sid) { on_pod_gone(sid); },
           [this, ns](const std::set<std::string>& present) { vanished(ns, present); },
           [this](std::chrono::milliseconds d) { return pause(d); }});
    });
  }

  // Sessions we hold that a fresh list no longer shows: their pod is gone.
  void vanished(const std::string& ns, const std::set<std::string>& present) {
    std::vector<std::string> gone;
    {
      std::lock_guard lock(mu_);
      for (const auto& [sid, s] : sessions_)
        if (s->ns == ns && s->pod_created && !present.count(sid) && !s->finishing)
          gone.push_back(sid);
    }
    for (const auto& sid : gone) on_pod_gone(sid);
  }

  void on_pod(const PodView& v) {
    std::shared_ptr<Session> s = find(v.session_id);
    if (!s) return;
    bool send_started = false, finish = false, outside_delete = false;
    {
      std::lock_guard lock(mu_);
      if (s->finishing) return;
      outside_delete = v.deleting && !pod_finished(v);
      bool up = s->interactive ? v.ready : (v.container_running || v.terminated);
      if (up && !s->started) {
        s->started = send_started = true;
        s->since = Clock::now();
      }
      if (pod_finished(v) || pod_cannot_start(v) || v.deleting) finish = s->finishing = true;
    }
    if (send_started) emit(s->id, Started{pod_name(s->id)});
    if (outside_delete)
      post(kEndLane,
           [this, s] { end_session(s, std::nullopt, "the pod was deleted outside enclave"); });
    else if (finish)
      post(kEndLane, [this, s, v] { end_session(s, v, ""); });
  }

  void on_pod_gone(const std::string& sid) {
    std::shared_ptr<Session> s = find(sid);
    if (!s) return;
    {
      std::lock_guard lock(mu_);
      if (s->finishing) return;
      s->finishing = true;
    }
    post(kEndLane,
         [this, s] { end_session(s, std::nullopt, "the pod was deleted outside enclave"); });
  }

  // ---- the end of a session ------------------------------------------------------------------
  // `v`: the pod as last seen when it finished by itself; nullopt for kills and vanished pods
  // (`why` says which). Reports Exited, deletes everything, reports Removed.
  void end_session(const std::shared_ptr<Session>& s, std::optional<PodView> v,
                   const std::string& why) {
    std::lock_guard ops(s->ops);
    PodExitFacts f;
    f.pod_name = pod_name(s->id);
    f.pod = v;
    f.ended_because = why;
    {
      std::lock_guard lock(mu_);
      f.started = s->started;
    }
    f.wall_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - s->since).count());
    // What the workload printed, before the pod (and its log) is deleted.
    auto log = api_->request("GET", "/api/v1/namespaces/" + s->ns + "/pods/" + f.pod_name +
                                        "/log?container=" + kContainer + "&limitBytes=" +
                                        std::to_string(3 * config_.output_cap_bytes +
                                                       2 * config_.result_cap_bytes + 65536));
    f.log_read = log.ok();
    f.log_error = log.describe();
    if (f.log_read) f.log = parse_pod_log(log.body);
    if (!v) f.extra = delete_pod_and_wait(s->ns, s->id);  // kill or vanished: stop it first
    emit(s->id, report_pod_exit(f));
    std::string removed = delete_session_objects(s->ns, s->id, s->has_policy, 0);
    forget(s->id);
    emit(s->id, Removed{removed, left_in(removed)});
  }

  // What delete_session_objects() could not delete ("" if everything went): a teardown that
  // left an object is incomplete, and the next kill() (remove_leftovers) tries again.
  static std::string left_in(const std::string& removed) {
    return removed.find(" not deleted (") == std::string::npos ? "" : removed;
  }

  // Deletes the pod (grace from the config) and waits, bounded, until the API server no longer
  // has it; forces it (grace 0) when the wait runs out. "" or a sentence saying it was forced.
  std::string delete_pod_and_wait(const std::string& ns, const std::string& sid) {
    const std::string pod = "/api/v1/namespaces/" + ns + "/pods/" + pod_name(sid);
    api_->request("DELETE",
                  pod + "?gracePeriodSeconds=" + std::to_string(config_.delete_grace_seconds));
    const auto until = Clock::now() + std::chrono::seconds(config_.delete_wait_seconds);
    while (Clock::now() < until) {
      auto r = api_->request("GET", pod);
      if (r.status == 404 || !pause(100ms)) return "";
    }
    api_->request("DELETE", pod + "?gracePeriodSeconds=0");
    return " The pod was not gone after " + std::to_string(config_.delete_wait_seconds) +
           " s and was force-deleted.";
  }

  // Pod, ConfigMap and egress policy of a session; a line saying what happened.
  std::string delete_session_objects(const std::string& ns, const std::string& sid, bool has_policy,
                                     int grace) {
    std::string out;
    auto del = [&](const std::string& what, const std::string& path) {
      auto r = api_->request("DELETE", path + "?gracePeriodSeconds=" + std::to_string(grace));
      out += (out.empty() ? "" : ", ") + what +
             (r.ok()            ? " deleted"
              : r.status == 404 ? " gone"
                                : " not deleted (" + r.describe() + ")");
    };
    del("pod " + pod_name(sid), "/api/v1/namespaces/" + ns + "/pods/" + pod_name(sid));
    del("configmap", "/api/v1/namespaces/" + ns + "/configmaps/" + configmap_name(sid));
    if (has_policy)
      del("egress policy", "/apis/networking.k8s.io/v1/namespaces/" + ns + "/networkpolicies/" +
                               egress_policy_name(sid));
    return out + " in " + ns;
  }

  // kill() of a session this process does not hold: delete whatever carries its label.
  void remove_leftovers(const std::string& sid) {
    std::string detail = "no pod of this session";
    auto r = api_ ? api_->request("GET", "/api/v1/pods?labelSelector=" + session_selector(sid))
                  : HttpResult{};
    if (auto list = r.ok() ? parse(r.body) : std::nullopt) {
      for (const Json* item : list_at(*list, "items"))
        detail = delete_session_objects(str_at(*item, "metadata.namespace"), sid, true, 0);
    } else if (api_) {
      emit(sid, Removed{detail, "pods of this session could not be listed: " + r.describe()});
      return;
    }
    emit(sid, Removed{detail, left_in(detail)});
  }

  // ---- interactive turns ---------------------------------------------------------------------
  void run_turn(const std::shared_ptr<Session>& s, const std::string& sid, uint32_t turn,
                const std::string& code, int64_t timeout_ms) {
    TurnDone done;
    done.turn.set_turn(turn);
    done.turn.set_has_exit_code(false);
    if (!s) {
      done.turn.set_stderr("no running pod for this session");
      emit(sid, std::move(done));
      return;
    }
    const auto t0 = Clock::now();
    TurnCollector collector(config_.output_cap_bytes * 3 + config_.result_cap_bytes + 1024);
    // Frames come from the pod's runner, which the workload shares: live chunks are capped here
    // at the stored cap, whatever the pod sends (issue 16).
    LiveOutputCap live(config_.output_cap_bytes);
    std::string status_text, proc_stderr;
    bool malformed = false;
    auto r = api_->websocket(
        exec_target(s->ns, pod_name(sid), kContainer,
                    {"python3", "-I", "-S", "-B", "/opt/enclave/pod_entry.py", "turn"}),
        kExecProtocol, stdin_message(turn_request(turn, code)),
        [&](std::string_view msg) {
          auto m = decode_channel_message(msg);
          if (m.channel == 1) {
            if (!collector.feed(m.payload)) malformed = true;
            for (auto& [stream, data] : collector.take_live())
              for (auto& o : live.admit(stream, data, turn)) emit(sid, std::move(o));
          } else if (m.channel == 2) {
            proc_stderr.append(m.payload.substr(0, 4096));
          } else if (m.channel == 3) {
            status_text.append(m.payload);
          }
          return !malformed && !collector.done();
        },
        // The exec itself (API server → kubelet → a python3 started in the pod) is not the
        // turn's time: it gets a grace on top, and the kernel's own duration decides below.
        stop_, std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 1) + config_.exec_grace_ms));
    const uint64_t ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
    if (collector.done() && static_cast<int64_t>(collector.turn().duration_ms()) <= timeout_ms) {
      done.turn = collector.turn();
      done.turn.set_turn(turn);
      // The D frame's duration is the pod's claim (forgeable): the turn is metered on our own
      // wall view, which includes the exec's start-up.
      done.turn.set_duration_ms(ms);
    } else if (collector.done() || r.error == "timeout") {  // ran, or is running, past its time
      done.turn.set_timed_out(true);
      done.turn.set_duration_ms(ms);
    } else {
      std::string why = !r.error.empty()  ? r.error
                        : r.status != 101 ? r.describe()
                        : malformed       ? "malformed answer from the pod"
                                          : parse_exec_status(status_text).message;
      done.turn.set_stderr("turn could not run in the pod: " + why +
                           (proc_stderr.empty() ? "" : " — " + proc_stderr));
      done.turn.set_duration_ms(ms);
    }
    emit(sid, std::move(done));
  }

  KubernetesConfig config_;
  Sink sink_;
  std::string init_error_;
  std::unique_ptr<ApiClient> api_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> stop_{false};
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  std::deque<std::function<void()>> tasks_[2];  // by lane
  std::vector<std::thread> workers_;
  std::map<std::string, std::thread> watchers_;   // by namespace
  std::map<uint64_t, std::thread> turn_threads_;  // one per turn in flight (or ended, unjoined)
  std::vector<uint64_t> turns_done_;
  uint64_t next_turn_thread_ = 0;
  std::mutex org_mu_;
  std::set<std::string> ready_ns_;
};

}  // namespace

KubernetesProbe probe_kubernetes(const KubernetesConfig& config) {
  KubernetesProbe p;
  Kubeconfig kc;
  if (auto e = load_kubeconfig(config.kubeconfig_path, &kc); !e.empty()) {
    p.message = e + " (pass --kubeconfig PATH)";
    return p;
  }
  std::unique_ptr<ApiClient> api;
  if (auto e = make_api_client(kc, &api); !e.empty()) {
    p.message = e;
    return p;
  }
  auto v = api->request("GET", "/version", "", "application/json", 10s);
  if (!v.ok()) {
    p.message = "API server https://" + kc.host + ":" + kc.port + " not usable: " + v.describe();
    return p;
  }
  auto rc = api->request("GET", "/apis/node.k8s.io/v1/runtimeclasses/" + config.runtime_class, "",
                         "application/json", 10s);
  if (!rc.ok()) {
    p.message = "RuntimeClass '" + config.runtime_class + "' not usable (" + rc.describe() +
                "): install gVisor's RuntimeClass on the cluster or pass --k8s-runtime-class";
    return p;
  }
  auto ver = parse(v.body);
  p.ok = true;
  p.message = "kube-apiserver " + (ver ? str_at(*ver, "gitVersion") : std::string("?")) + " at " +
              kc.host + ":" + kc.port + ", RuntimeClass " + config.runtime_class + " (handler " +
              (parse(rc.body) ? str_at(*parse(rc.body), "handler") : std::string("?")) + ")";
  return p;
}

std::unique_ptr<Backend> make_kubernetes_backend(KubernetesConfig config, Sink sink) {
  return std::make_unique<KubernetesBackend>(std::move(config), std::move(sink));
}

}  // namespace enclave::backends
