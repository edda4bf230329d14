#include "http/standby.h"

#include "http/json_io.h"
#include "http/query.h"

namespace enclave::http {

std::string replica_fields(const ReplicaStatus& s) {
  return "\"role\":" + json_quote(s.role) + ",\"epoch\":" + std::to_string(s.epoch) +
         ",\"leader\":" + json_quote(s.leader) + ",\"lagEvents\":" + std::to_string(s.lag_events);
}

Response standby_answer(const Request& req, const ReplicaStatus& s) {
  Response r;
  if (split_target(req.target).path == "/v1/healthz") {
    r.body = "{\"status\":\"ok\"," + replica_fields(s) + "}";
    return r;
  }
  if (s.leader.empty()) {
    Error e = make_error(ErrorCode::kUnavailable, "no_leader",
                         "this replica is a standby and no leader holds the log right now "
                         "(a takeover is under way); retry shortly");
    r.status = http_status(e.code);
    r.body = error_json(e);
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  r.status = 307;
  r.body = "{\"leader\":" + json_quote(s.leader) + "}";
  r.headers.emplace_back("Location", s.leader + req.target);
  return r;
}

}  // namespace enclave::http
