#include "events/requests/image_catalog.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

namespace enclave::images {

const std::vector<std::string>& known_languages() {
  static const std::vector<std::string> kAll = {"python", "javascript", "bash"};
  return kAll;
}

Catalog default_only_catalog() {
  Catalog c;
  api::Image d;
  d.set_name(kDefaultImage);
  for (const auto& l : known_languages()) d.add_languages(l);
  c.by_name[kDefaultImage] = d;
  return c;
}

Catalog kubernetes_catalog(const std::string& default_ref,
                           const std::map<std::string, std::string>& refs) {
  Catalog c;
  auto add = [&c](const std::string& name, const std::string& ref) {
    api::Image m;
    m.set_name(name);
    m.set_digest("k8s:" + ref);
    m.add_languages("python");
    c.by_name[name] = std::move(m);
  };
  add(kDefaultImage, default_ref);
  for (const auto& [name, ref] : refs) {
    if (name != kDefaultImage) add(name, ref);
  }
  return c;
}

bool valid_image_name(std::string_view n) {
  if (n.empty() || n.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(n[0])) return false;
  return std::all_of(n.begin(), n.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

bool valid_built_digest(std::string_view d) {
  constexpr std::string_view kPrefix = "sha256:";
  if (d.size() != kPrefix.size() + 64 || d.substr(0, kPrefix.size()) != kPrefix) return false;
  return std::all_of(d.begin() + kPrefix.size(), d.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<Error> resolve_session_image(const api::CreateSessionRequest& req,
                                           const Catalog& catalog, events::SessionSpec* spec,
                                           const std::string& pre) {
  const std::string name = req.image().empty() ? std::string(kDefaultImage) : req.image();
  auto it = catalog.by_name.find(name);
  if (it == catalog.by_name.end()) {
    const std::string shown = valid_image_name(name) ? name : name.substr(0, 40);
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "image \"" + shown + "\" does not exist (GET /v1/images lists them)",
                      pre + "image");
  }
  const auto& langs = it->second.languages();
  if (std::find(langs.begin(), langs.end(), spec->language()) == langs.end()) {
    std::string have;
    for (const auto& l : langs) have += (have.empty() ? "" : ", ") + l;
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "image \"" + name + "\" cannot run language \"" + spec->language() +
                          "\" (it has: " + (have.empty() ? "none" : have) + ")",
                      pre + "language");
  }
  spec->set_image(name);
  spec->set_image_digest(it->second.digest());
  return std::nullopt;
}

std::string manifest_json(const api::Image& image) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(image, &out, o);
  return out;
}

std::optional<api::Image> parse_manifest(std::string_view text) {
  constexpr size_t kMaxManifestBytes = 64 * 1024;
  if (text.size() > kMaxManifestBytes) return std::nullopt;
  api::Image m;
  if (!google::protobuf::util::JsonStringToMessage(std::string(text), &m).ok()) return std::nullopt;
  if (!valid_image_name(m.name()) || !valid_built_digest(m.digest())) return std::nullopt;
  if (m.languages_size() > 8 || m.debian_packages_size() > 4096) return std::nullopt;
  const auto& known = known_languages();
  for (const auto& l : m.languages())
    if (std::find(known.begin(), known.end(), l) == known.end()) return std::nullopt;
  return m;
}

}  // namespace enclave::images
