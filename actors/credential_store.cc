#include "actors/credential_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "events/crypto/credential.h"
#include "events/ids.h"

namespace enclave {

Result<std::unique_ptr<CredentialStore>> CredentialStore::open(const std::string& data_dir,
                                                               const std::string& secret) {
  auto store = std::make_unique<CredentialStore>();
  store->secret_ = secret;
  if (store->secret_.empty()) {
    if (const char* env = std::getenv("ENCLAVE_CRED_SECRET"); env && *env) store->secret_ = env;
  }
  if (store->secret_.empty()) {
    std::string path = data_dir + "/cred_secret";
    std::ifstream in(path);
    std::getline(in, store->secret_);
    if (store->secret_.empty()) {
      // Created owner-only in the same step (no window where another uid could open it), and
      // never over a file someone else placed there.
      const std::string secret = to_hex(new_stream_id() + new_stream_id());
      const std::string line = secret + "\n";
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      const bool written =
          fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
          ::fsync(fd) == 0;
      if (fd >= 0) ::close(fd);
      if (!written)
        return make_error(ErrorCode::kInternal, "cred_secret",
                          "cannot create the credential key " + path + ": " + std::strerror(errno));
      store->secret_ = secret;
    }
  }
  return store;
}

void CredentialStore::mint(const std::string& hex, const std::string& org, TimeMs now,
                           TimeMs expires_at_ms) {
  std::lock_guard lock(mu_);
  issued_[hex] = Issued{org, now, expires_at_ms, {}};
}

void CredentialStore::drop(const std::string& hex) {
  std::lock_guard lock(mu_);
  issued_.erase(hex);
}

std::optional<std::string> CredentialStore::get(const std::string& hex) const {
  std::lock_guard lock(mu_);
  auto it = issued_.find(hex);
  if (it == issued_.end()) return std::nullopt;
  auto& i = it->second;
  if (i.token.empty())
    i.token =
        credential::mint(secret_, {hex, i.org, "session:broker", i.issued_at_ms, i.expires_at_ms});
  return i.token;
}

}  // namespace enclave
