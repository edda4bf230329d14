// `enclaved signing-key create FILE`: a new Ed25519 key for signed tree heads (mode 0600).
#include <iostream>

#include "cli/enclaved/commands.h"
#include "storage/sth_service.h"

namespace enclave::enclaved {

int signing_key_main(const std::vector<std::string>& words) {
  cli::Options o = parse_or_exit(words, {}, {});
  if (o.positional.size() != 2 || o.positional[0] != "create")
    usage_error("signing-key: expected `signing-key create FILE`");
  const std::string& file = o.positional[1];
  auto r = storage::SigningKey::create_file(file);
  if (!r) {
    std::cerr << "enclaved signing-key create: " << r.error().message << "\n";
    return 1;
  }
  auto k = storage::SigningKey::load_file(file);
  std::cout << "wrote " << file << " (Ed25519, mode 0600); key id "
            << (k ? k->public_key().key_id() : std::string("?")) << "\n";
  return 0;
}

}  // namespace enclave::enclaved
