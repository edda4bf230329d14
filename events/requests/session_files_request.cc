#include "events/requests/session_files_request.h"

#include <set>

#include "events/codec/base64.h"
#include "events/requests/file_path.h"

namespace enclave {

namespace {

Error bad(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "invalid_argument", message, field);
}

}  // namespace

std::optional<Error> validate_session_files(const api::CreateSessionRequest& req,
                                            events::SessionSpec* spec, const std::string& pre) {
  if (req.files_size() > kMaxStagedFiles)
    return bad(pre + "files", "at most " + std::to_string(kMaxStagedFiles) + " files");
  std::set<std::string> seen;
  for (int i = 0; i < req.files_size(); ++i) {
    const std::string field = pre + "files[" + std::to_string(i) + "]";
    const auto& f = req.files(i);
    auto path = files::parse_session_path(f.path(), field + ".path");
    if (!path) return path.error();
    if (path->is_root()) return bad(field + ".path", "a staged file needs a name");
    auto bytes = base64_decode(f.content_base64());
    if (!bytes) return bad(field + ".contentBase64", "contentBase64 is not base64");
    if (!seen.insert(path->display()).second)
      return bad(field + ".path", "the same path is staged twice");
    auto* out = spec->add_files();
    out->set_path(path->display());
    out->set_content(std::move(*bytes));
  }
  if (req.artifacts_size() > 0 && spec->exec_mode() == events::EXEC_MODE_INTERACTIVE)
    return bad(pre + "artifacts",
               "artifacts are collected when a batch run ends; an interactive "
               "session reads its files with GET …/files");
  if (req.artifacts_size() > kMaxArtifactGlobs)
    return bad(pre + "artifacts", "at most " + std::to_string(kMaxArtifactGlobs) + " globs");
  for (int i = 0; i < req.artifacts_size(); ++i) {
    auto g =
        files::parse_artifact_glob(req.artifacts(i), pre + "artifacts[" + std::to_string(i) + "]");
    if (!g) return g.error();
    spec->add_artifacts(*g);
  }
  return std::nullopt;
}

}  // namespace enclave
