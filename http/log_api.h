// The transparency log's routes: GET /v1/log/public-key, /v1/log/sth, /v1/log/consistency and
// GET /v1/sessions/{id}/audit?proof=true. Each returns the body (JSON, or PEM for the key) or an
// error naming the query parameter at fault.
#pragma once

#include <string>
#include <string_view>

#include "actors/engine.h"
#include "events/error.h"
#include "storage/sth_service.h"

namespace enclave::http {

// `sth` may be null (no transparency service): kNotFound signing_key_not_configured.
[[nodiscard]] Result<std::string> log_public_key(const storage::SthService* sth);
[[nodiscard]] Result<std::string> log_sth(storage::SthService* sth);
// query: first=N&second=M → {"proof":[hex…]}.
[[nodiscard]] Result<std::string> log_consistency(const storage::SthService* sth,
                                                  std::string_view query);
// Whether the audit query asks for proofs (`proof=true`); an error names `proof` otherwise.
[[nodiscard]] Result<bool> wants_proof(std::string_view query);
// The audit trail (org-scoped by the engine) with, per event, leafIndex, inclusionProof and
// eventBytes, plus the STH they prove against.
[[nodiscard]] Result<std::string> audit_with_proofs(const Engine& engine, storage::SthService* sth,
                                                    const Principal& p, const std::string& id);

}  // namespace enclave::http
