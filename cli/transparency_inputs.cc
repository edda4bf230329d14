#include "cli/transparency_inputs.h"

#include <fstream>
#include <sstream>

namespace enclave::cli {

Result<storage::TransparencyOptions> transparency_inputs(const std::string& sth_file,
                                                         const std::string& anchor_dir,
                                                         const std::string& public_key_file) {
  storage::TransparencyOptions o;
  if (!sth_file.empty()) {
    auto s = storage::read_sth_file(sth_file);
    if (!s) return s.error();
    o.sths.push_back(std::move(*s));
  }
  if (!anchor_dir.empty()) {
    auto all = storage::read_anchor_dir(anchor_dir);
    if (!all) return all.error();
    for (auto& s : *all) o.sths.push_back(std::move(s));
  }
  if (!public_key_file.empty()) {
    std::ifstream in(public_key_file, std::ios::binary);
    if (!in) return make_error(ErrorCode::kNotFound, "not_found", "cannot read " + public_key_file);
    std::stringstream ss;
    ss << in.rdbuf();
    auto k = storage::PublicKey::from_pem(ss.str());
    if (!k)
      return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                        public_key_file + ": " + k.error().message);
    o.public_key = std::move(*k);
  }
  return o;
}

void merge_transparency(const storage::TransparencyReport& t, storage::VerifyReport& rep) {
  if (t.ok || !rep.ok) return;
  rep.ok = false;
  rep.stream_hex = t.stream_hex.empty() ? "-" : t.stream_hex;
  rep.seq = t.seq;
  rep.problem =
      t.problem + (t.global_seq ? " (global seq " + std::to_string(t.global_seq) + ")" : "");
}

}  // namespace enclave::cli
