// What `enclave verify` checks the log against besides itself: signed tree heads (one --sth FILE
// or every *.json of --anchor-dir DIR) and the public key that must have signed them.
#pragma once

#include <string>

#include "events/error.h"
#include "storage/verify.h"
#include "storage/verify_merkle.h"

namespace enclave::cli {

// Empty strings: not given. Errors name the file at fault.
[[nodiscard]] Result<storage::TransparencyOptions> transparency_inputs(
    const std::string& sth_file, const std::string& anchor_dir, const std::string& public_key_file);

// Folds the transparency verdict into verify's report (the first problem wins).
void merge_transparency(const storage::TransparencyReport& t, storage::VerifyReport& rep);

}  // namespace enclave::cli
