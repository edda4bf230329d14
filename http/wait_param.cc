#include "http/wait_param.h"

#include <string>

#include "http/query.h"

namespace enclave::http {

namespace {
constexpr uint32_t kMaxWait = 300;  // = kMaxWaitSeconds (actors/session_wait.h)
}

Result<std::optional<uint32_t>> parse_wait_param(std::string_view query) {
  auto q = parse_query(query);
  if (!q) return q.error();
  auto it = q->find("wait");
  if (it == q->end()) return std::optional<uint32_t>{};
  const std::string& v = it->second;
  bool digits =
      !v.empty() && v.size() <= 3 && v.find_first_not_of("0123456789") == std::string::npos;
  uint32_t s = digits ? static_cast<uint32_t>(std::stoul(v)) : kMaxWait + 1;
  if (s > kMaxWait) {
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "wait must be whole seconds from 0 to " + std::to_string(kMaxWait), "wait");
  }
  return std::optional<uint32_t>{s};
}

}  // namespace enclave::http
