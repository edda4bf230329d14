// Images a session can run on (issue 21), as data: which names exist, what digest each resolved
// to and which languages it can run. Pure: the catalog is read from the data dir elsewhere
// (images/store.h); here a request's `image` and `language` are checked against it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/api.pb.h"
#include "events/error.h"
#include "events/events.pb.h"

namespace enclave::images {

// The image every session gets without asking: the host's /usr, read-only (today's rootfs).
inline constexpr const char* kDefaultImage = "default";

// The languages Enclave runs, in the order they are listed.
const std::vector<std::string>& known_languages();

// Name → image (api::Image: name, digest, size, languages, …).
struct Catalog {
  std::map<std::string, api::Image> by_name;
};

// The catalog of a server without an image store: `default` runs every known language.
Catalog default_only_catalog();

// The catalog of the Kubernetes backend: `default` on container image `default_ref` and each
// name → reference of `refs`, Python only; each digest is "k8s:" + its reference, so an audit
// says which container image a session asked the cluster for.
Catalog kubernetes_catalog(const std::string& default_ref,
                           const std::map<std::string, std::string>& refs);

// Image names: 1..63 of [a-z0-9._-], starting with a letter or digit (a file name in the data
// dir, never a path).
bool valid_image_name(std::string_view name);

// "sha256:<64 lowercase hex>": the only digests that name a directory of the image store.
bool valid_built_digest(std::string_view digest);

// Resolves the request's image (empty: default) into `spec` (image, image_digest), after
// validate_session_request filled in the language. Unknown image → 400 `image`; a language the
// image lacks → 400 `language`. `field_prefix` as in validate_session_request.
[[nodiscard]] std::optional<Error> resolve_session_image(const api::CreateSessionRequest& req,
                                                         const Catalog& catalog,
                                                         events::SessionSpec* spec,
                                                         const std::string& field_prefix = "");

// An image's manifest (JSON, as the API shows it) ↔ api::Image. Parsing is bounded and checked
// (the data dir is hostile input): a bad name, digest or language is nullopt.
std::string manifest_json(const api::Image& image);
std::optional<api::Image> parse_manifest(std::string_view text);

}  // namespace enclave::images
