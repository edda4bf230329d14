#include "actors/visibility.h"

#include "events/ids.h"

namespace enclave {

Error not_found(const char* what) {
  return make_error(ErrorCode::kNotFound, "not_found", std::string("no such ") + what);
}

Error forbidden(const std::string& scope) {
  return make_error(ErrorCode::kPermissionDenied, "permission_denied",
                    "this API key lacks the scope " + scope);
}

Result<session::State> visible_session(const ReadModel& m, const Principal& p,
                                       const std::string& hex) {
  auto id = from_hex_id(hex);
  if (!id) return not_found();
  auto s = m.session(*id);
  if (!s || s->org_id != p.org_id) return not_found();
  return *s;
}

Result<fleet::State> visible_fleet(const ReadModel& m, const Principal& p, const std::string& hex,
                                   bool members) {
  auto id = from_hex_id(hex);
  if (!id) return not_found("fleet");
  auto f = m.fleet(*id, members);
  if (!f || f->org_id != p.org_id) return not_found("fleet");
  return *f;
}

}  // namespace enclave
