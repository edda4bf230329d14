// Table tests of the storage gate: which figures refuse new work, with which status, and that
// the refusal names the figures.
#include "events/policy/storage_gate.h"

#include <boost/test/unit_test.hpp>

using namespace enclave;

namespace {

constexpr uint64_t MiB = 1ull << 20;

storage_gate::Figures fine() {
  storage_gate::Figures f;
  f.free_bytes = 2048 * MiB;
  f.min_free_bytes = 512 * MiB;
  f.org_id = "acme";
  f.org_bytes = 10 * MiB;
  f.org_quota_bytes = 4096 * MiB;
  return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(storage_gate_table)

BOOST_AUTO_TEST_CASE(refusals_in_order_with_their_status_and_figures) {
  struct Row {
    const char* name;
    void (*change)(storage_gate::Figures&);
    std::optional<ErrorCode> code;  // nullopt: taken
    const char* reason;
    const char* names;  // a substring the message must hold
    int retry_after;
  };
  const Row rows[] = {
      {"all fine", [](storage_gate::Figures&) {}, std::nullopt, "", "", 0},
      {"free exactly at the floor", [](storage_gate::Figures& f) { f.free_bytes = 512 * MiB; },
       std::nullopt, "", "", 0},
      {"free one byte under the floor",
       [](storage_gate::Figures& f) { f.free_bytes = 512 * MiB - 1; },
       ErrorCode::kInsufficientStorage, "insufficient_storage", "floor of 512 MiB", 0},
      {"free unknown is not a refusal", [](storage_gate::Figures& f) { f.free_bytes.reset(); },
       std::nullopt, "", "", 0},
      {"no floor",
       [](storage_gate::Figures& f) {
         f.min_free_bytes = 0;
         f.free_bytes = 0;
       },
       std::nullopt, "", "", 0},
      {"org just under its quota", [](storage_gate::Figures& f) { f.org_bytes = 4096 * MiB - 1; },
       std::nullopt, "", "", 0},
      {"org at its quota", [](storage_gate::Figures& f) { f.org_bytes = 4096 * MiB; },
       ErrorCode::kQuotaExceeded, "quota_exceeded", "org acme stores 4096 MiB", 0},
      {"small quota figures keep a decimal",
       [](storage_gate::Figures& f) {
         f.org_bytes = 3 * MiB / 2;
         f.org_quota_bytes = 1 * MiB;
       },
       ErrorCode::kQuotaExceeded, "quota_exceeded", "1.5 MiB", 0},
      {"no quota",
       [](storage_gate::Figures& f) {
         f.org_quota_bytes = 0;
         f.org_bytes = UINT64_MAX;
       },
       std::nullopt, "", "", 0},
      {"log unwritable", [](storage_gate::Figures& f) { f.log_writable = false; },
       ErrorCode::kUnavailable, "log_unavailable", "cannot take writes",
       storage_gate::kLogRetryAfterSeconds},
      {"log unwritable wins over a full disk and a quota",
       [](storage_gate::Figures& f) {
         f.log_writable = false;
         f.free_bytes = 0;
         f.org_bytes = UINT64_MAX;
       },
       ErrorCode::kUnavailable, "log_unavailable", "", storage_gate::kLogRetryAfterSeconds},
      {"a full disk wins over a quota",
       [](storage_gate::Figures& f) {
         f.free_bytes = 0;
         f.org_bytes = UINT64_MAX;
       },
       ErrorCode::kInsufficientStorage, "insufficient_storage", "0.0 MiB free", 0},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.name) {
      auto f = fine();
      row.change(f);
      auto e = storage_gate::check(f);
      BOOST_CHECK_EQUAL(e.has_value(), row.code.has_value());
      if (!e || !row.code) continue;
      BOOST_CHECK(e->code == *row.code);
      BOOST_CHECK_EQUAL(e->reason, row.reason);
      BOOST_CHECK_MESSAGE(e->message.find(row.names) != std::string::npos, e->message);
      BOOST_CHECK_EQUAL(e->retry_after_s, row.retry_after);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
