// Validation of a CreateSessionRequest's files and artifacts (issue 20), pure: staged files become
// checked paths with decoded bytes, artifact globs are normalised; an error names the field.
#pragma once

#include <optional>
#include <string>

#include "events/api.pb.h"
#include "events/error.h"
#include "events/events.pb.h"

namespace enclave {

inline constexpr int kMaxStagedFiles = 64;
inline constexpr int kMaxArtifactGlobs = 16;

// Copies `req.files` and `req.artifacts` into `spec` (which already holds the rest). Refused:
// a bad path (400 path_forbidden), bad base64, the same path twice, more than kMaxStagedFiles
// files or kMaxArtifactGlobs globs, artifacts on an interactive session.
[[nodiscard]] std::optional<Error> validate_session_files(const api::CreateSessionRequest& req,
                                                          events::SessionSpec* spec,
                                                          const std::string& field_prefix = "");

}  // namespace enclave
