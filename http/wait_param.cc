#include "http/wait_param.h"

#include "events/requests/session_request.h"
#include "http/query.h"

namespace enclave::http {

Result<std::optional<uint32_t>> parse_wait_param(std::string_view query) {
  auto q = parse_query(query);
  if (!q) return q.error();
  auto it = q->find("wait");
  if (it == q->end()) return std::optional<uint32_t>{};
  auto s = parse_wait_seconds(it->second);  // the bounds live with the other request checks
  if (!s) return s.error();
  return std::optional<uint32_t>{*s};
}

}  // namespace enclave::http
