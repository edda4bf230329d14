#include "storage/images/oci_import.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "events/codec/sha256.h"
#include "storage/images/run_tool.h"
#include "storage/images/tree_digest.h"

namespace enclave::images {
namespace fs = std::filesystem;
namespace pb = google::protobuf;
namespace {

constexpr size_t kMaxJsonBytes = 4 << 20;  // index.json, a manifest
constexpr int kMaxLayers = 256;

Error bad(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "invalid_argument", message, field);
}

Error refused(const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "image_refused", message, "FILE");
}

std::optional<pb::Struct> read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(kMaxJsonBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  pb::Struct s;
  if (text.size() > kMaxJsonBytes || !pb::util::JsonStringToMessage(text, &s).ok())
    return std::nullopt;
  return s;
}

std::string string_of(const pb::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || it->second.kind_case() != pb::Value::kStringValue) return "";
  return it->second.string_value();
}

const pb::ListValue* list_of(const pb::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  if (it == s.fields().end() || it->second.kind_case() != pb::Value::kListValue) return nullptr;
  return &it->second.list_value();
}

// "sha256:<64 lowercase hex>" → the blob's path in `layout`; "" for anything else.
std::string blob_path(const std::string& layout, const std::string& digest) {
  if (!valid_built_digest(digest)) return "";
  return layout + "/blobs/sha256/" + digest.substr(7);
}

struct Layer {
  std::string path;
  bool gzip = false;
  std::string digest;
};

// The manifest's digest and its layers, in order (lowest first).
Result<std::pair<std::string, std::vector<Layer>>> read_layout(const std::string& layout) {
  auto index = read_json(layout + "/index.json");
  const pb::ListValue* manifests = index ? list_of(*index, "manifests") : nullptr;
  if (!manifests || manifests->values_size() != 1 ||
      manifests->values(0).kind_case() != pb::Value::kStructValue)
    return refused("the copied layout does not name exactly one manifest");
  const std::string digest = string_of(manifests->values(0).struct_value(), "digest");
  const std::string path = blob_path(layout, digest);
  auto manifest = path.empty() ? std::nullopt : read_json(path);
  if (!manifest) return refused("the image's manifest cannot be read");
  const pb::ListValue* layers = list_of(*manifest, "layers");
  if (!layers || layers->values_size() > kMaxLayers)
    return refused("the manifest lists no layers, or more than 256");
  std::vector<Layer> out;
  for (const auto& v : layers->values()) {
    if (v.kind_case() != pb::Value::kStructValue) return refused("a malformed layer entry");
    Layer l;
    l.digest = string_of(v.struct_value(), "digest");
    l.path = blob_path(layout, l.digest);
    const std::string type = string_of(v.struct_value(), "mediaType");
    auto ends = [&type](const std::string& tail) {
      return type.size() >= tail.size() &&
             type.compare(type.size() - tail.size(), tail.size(), tail) == 0;
    };
    if (ends(".tar.gzip") || ends(".tar+gzip")) {
      l.gzip = true;
    } else if (!ends(".tar")) {
      return refused("a layer of media type \"" + type.substr(0, 100) +
                     "\" (tar and tar+gzip layers are supported)");
    }
    if (l.path.empty()) return refused("a layer with a malformed digest");
    out.push_back(std::move(l));
  }
  return std::make_pair(digest, std::move(out));
}

// Step 5: what umoci made, checked again; setuid/setgid cleared; the runner's mount points.
std::optional<Error> finish_tree(const std::string& tree) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(tree, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) return refused("unreadable: " + it->path().string());
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
      return refused("a special file in the unpacked tree: " + it->path().string());
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)))
      ::chmod(it->path().c_str(), st.st_mode & 07777 & ~(S_ISUID | S_ISGID));
  }
  if (ec) return refused("the unpacked tree cannot be walked: " + ec.message());
  for (const char* dir : {"opt", "opt/enclave", "opt/enclave-io"}) {
    const std::string p = tree + "/" + dir;
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return refused(std::string("/") + dir + " is not a directory");
      continue;
    }
    if (::mkdir(p.c_str(), 0755) != 0) return refused(std::string("cannot create /") + dir);
  }
  ::chmod(tree.c_str(), 0755);
  return std::nullopt;
}

}  // namespace

Result<api::Image> import_oci_image(Store& store, const OciImport& in, std::ostream& log) {
  if (!valid_image_name(in.name))
    return bad("NAME", "image names are 1..63 of [a-z0-9._-], not \"" + in.name + "\"");
  if (in.name == kDefaultImage) return bad("NAME", "\"default\" is the host's image");
  struct stat st {};
  if (::stat(in.archive.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return bad("FILE", in.archive + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > in.max_archive_bytes) {
    return refused("the archive is " + std::to_string(st.st_size) + " bytes, over the " +
                   std::to_string(in.max_archive_bytes) + "-byte limit");
  }
  auto work = store.make_work_dir();
  if (!work) return work.error();
  std::error_code ec;
  auto cleanup = [&] { fs::remove_all(*work, ec); };
  // skopeo's transport syntax gives ':' a meaning: the archive is reached through a link of ours.
  if (work->find(':') != std::string::npos) {
    cleanup();
    return bad("data-dir", "the data dir's path must not contain ':' to import images");
  }
  const std::string archive = *work + "/archive.tar", layout = *work + "/layout",
                    tree = *work + "/rootfs";
  fs::create_directories(*work + "/tmp", ec);
  fs::create_symlink(fs::absolute(in.archive, ec), archive, ec);
  if (ec) {
    cleanup();
    return make_error(ErrorCode::kInternal, "io", "prepare " + *work + ": " + ec.message());
  }
  log << "images import: reading " << in.archive << " (" << st.st_size << " bytes)\n";
  log.flush();
  if (run_tool({in.skopeo, "--insecure-policy", "copy", "--quiet", "oci-archive:" + archive,
                "oci:" + layout + ":enclave"},
               {"TMPDIR=" + *work + "/tmp"}) != 0) {
    cleanup();
    return refused("skopeo could not read it as an OCI image archive");
  }
  auto read = read_layout(layout);
  if (!read) {
    cleanup();
    return read.error();
  }
  auto& [manifest_digest, layers] = *read;
  const std::string inputs = "sha256:" + sha256_hex("oci-import\n" + manifest_digest);
  if (auto same = store.find_by_inputs(inputs)) {
    cleanup();
    log << "images import: already in the store (" << same->digest() << ")\n";
    if (same->name() == in.name) return *same;
    same->set_name(in.name);
    same->set_created_at(now_rfc3339());
    return store.name_existing(std::move(*same));
  }
  ScanState state;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (auto e = scan_layer(layers[i].path, layers[i].gzip,
                            "layer " + std::to_string(i + 1) + " (" + layers[i].digest + ")",
                            in.limits, &state)) {
      cleanup();
      return *e;
    }
  }
  log << "images import: " << layers.size() << " layer(s), " << state.entries << " entries, "
      << state.total_bytes << " bytes: unpacking\n";
  log.flush();
  if (run_tool({in.umoci, "raw", "unpack", "--image", layout + ":enclave", tree}, {}) != 0) {
    cleanup();
    return refused("umoci could not unpack the image");
  }
  if (auto e = finish_tree(tree)) {
    cleanup();
    return *e;
  }
  auto digest = digest_tree(tree);
  if (!digest) {
    cleanup();
    return digest.error();
  }
  api::Image m;
  m.set_name(in.name);
  m.set_digest(digest->digest);
  m.set_size_bytes(static_cast<double>(digest->size_bytes));
  for (const auto& l : languages_in(tree)) m.add_languages(l);
  m.set_created_at(now_rfc3339());
  m.set_inputs(inputs);
  auto installed = store.install(tree, std::move(m));
  cleanup();
  return installed;
}

}  // namespace enclave::images
