// `enclave export` and `enclave verify-bundle`: evidence bundles (storage/evidence_bundle.h) as
// .tar.gz files, made offline from a data dir and an anchored tree head, checked with nothing
// else. tar does the archiving; only the bundle's three named members are ever extracted.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "events/ids.h"
#include "storage/evidence_bundle.h"
#include "storage/verify_merkle.h"

namespace enclave::cli {

namespace {

const char* const kMembers[] = {"sth.json", "public-key.pem", "events.jsonl"};
constexpr size_t kMaxMember = 256 << 20;  // a bundle member larger than this is refused

// Runs tar with `args` (no shell); true on exit 0.
bool tar(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::vector<std::string> all = {"tar"};
  all.insert(all.end(), args.begin(), args.end());
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    execvp("tar", argv.data());
    _exit(127);
  }
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

std::string temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "enclave-bundle-XXXXXX").string();
  return mkdtemp(tmpl.data()) ? tmpl : "";
}

bool read_file(const std::string& path, std::string* out) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(path, ec)) ||
      std::filesystem::file_size(path, ec) > kMaxMember)
    return false;
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return static_cast<bool>(in);
}

}  // namespace

int cmd_export(const Args& args) {
  const std::string use =
      "export --data-dir DIR --session ID (--anchor-dir DIR | --sth FILE) --public-key FILE "
      "--out FILE.tar.gz";
  auto o = parse_options(args.words,
                         {"data-dir", "session", "anchor-dir", "sth", "public-key", "out"}, {});
  if (!o.error.empty() || !o.has("data-dir") || !o.has("session") || !o.has("out") ||
      !o.has("public-key") || (!o.has("anchor-dir") && !o.has("sth")))
    return usage(use, o.error);
  auto stream = from_hex_id(o.get("session"));
  if (!stream) return usage(use, "--session is a 32-character hex id");
  std::string pem;
  if (!read_file(o.get("public-key"), &pem)) return fail("cannot read " + o.get("public-key"), 2);
  auto key = storage::PublicKey::from_pem(pem);
  if (!key) return fail(o.get("public-key") + ": " + key.error().message, 2);
  std::vector<storage::TreeHeadSource> heads;
  if (o.has("sth")) {
    auto s = storage::read_sth_file(o.get("sth"));
    if (!s) return fail(s.error().message, 2);
    heads.push_back(*s);
  } else {
    auto all = storage::read_anchor_dir(o.get("anchor-dir"));
    if (!all) return fail(all.error().message, 2);
    heads = *all;
  }
  auto log = storage::EventLog::open(o.get("data-dir"), storage::OpenMode::kReadOnly);
  if (!log) log = storage::EventLog::open(o.get("data-dir"), storage::OpenMode::kSecondary);
  if (!log) return fail(log.error().message, 2);
  // The newest head signed by the key that covers the whole session.
  std::sort(heads.begin(), heads.end(),
            [](const auto& a, const auto& b) { return a.head.tree_size > b.head.tree_size; });
  Result<storage::BundleFiles> files =
      make_error(ErrorCode::kNotFound, "no_sth", "no tree head signed by the key");
  for (const auto& h : heads) {
    if (!key->verifies(h.head)) continue;
    files = storage::make_bundle(**log, *stream, h.head, key->pem());
    break;
  }
  if (!files) return fail(files.error().message);
  std::string dir = temp_dir();
  if (dir.empty()) return fail("cannot make a temp dir");
  for (const auto& [name, content] : *files)
    std::ofstream(dir + "/" + name, std::ios::binary) << content;
  bool ok = tar({"-czf", std::filesystem::absolute(o.get("out")).string(), "-C", dir, kMembers[0],
                 kMembers[1], kMembers[2]});
  std::filesystem::remove_all(dir);
  if (!ok) return fail("tar could not write " + o.get("out"));
  std::cout << "wrote " << o.get("out") << ": session " << o.get("session") << ", "
            << std::count(files->at("events.jsonl").begin(), files->at("events.jsonl").end(), '\n')
            << " events with inclusion proofs, the tree head and its public key\n";
  return 0;
}

int cmd_verify_bundle(const Args& args) {
  const std::string use = "verify-bundle FILE.tar.gz";
  auto o = parse_options(args.words, {}, {});
  if (!o.error.empty() || o.positional.size() != 1) return usage(use, o.error);
  std::string dir = temp_dir();
  if (dir.empty()) return fail("cannot make a temp dir");
  storage::BundleFiles files;
  bool extracted = tar({"-xzf", o.positional[0], "-C", dir, "--no-same-owner",
                        "--no-same-permissions", kMembers[0], kMembers[1], kMembers[2]});
  for (const char* m : kMembers) {
    std::string content;
    if (read_file(dir + "/" + m, &content)) files[m] = std::move(content);
  }
  std::filesystem::remove_all(dir);
  if (!extracted && files.empty()) return fail("cannot read the bundle " + o.positional[0], 2);
  auto v = storage::verify_bundle(files);
  if (!v.ok) {
    std::cout << "TAMPERED or incomplete bundle: " << v.problem << "\n";
    return 1;
  }
  std::cout << "bundle verified: session " << v.stream_hex << ", " << v.events
            << " events, each in the signed tree of " << v.tree_size
            << " events; hash chain intact\n";
  return 0;
}

}  // namespace enclave::cli
