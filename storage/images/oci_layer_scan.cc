#include "storage/images/oci_layer_scan.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

namespace enclave::images {
namespace {

constexpr size_t kBlock = 512;
constexpr uint64_t kMaxPaxBytes = 1 << 20;  // an extended header's records
constexpr size_t kMaxPath = 4096;

// A layer's bytes, decompressed on the fly when it is gzip (several members allowed).
class LayerReader {
 public:
  LayerReader(std::FILE* f, bool gzip) : f_(f), gzip_(gzip) {
    if (gzip_) ok_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
  }
  ~LayerReader() {
    if (gzip_ && ok_) inflateEnd(&z_);
  }
  LayerReader(const LayerReader&) = delete;
  LayerReader& operator=(const LayerReader&) = delete;

  // Exactly n bytes, or false (end of data or a corrupt stream; error() says which).
  bool read(char* out, size_t n) {
    while (n > 0) {
      size_t got = gzip_ ? inflate_some(out, n) : std::fread(out, 1, n, f_);
      if (got == 0) return false;
      out += got;
      n -= got;
    }
    return true;
  }

  bool skip(uint64_t n) {
    std::array<char, 65536> buf;
    while (n > 0) {
      size_t step = n < buf.size() ? static_cast<size_t>(n) : buf.size();
      if (!read(buf.data(), step)) return false;
      n -= step;
    }
    return true;
  }

  const std::string& error() const { return error_; }

 private:
  size_t inflate_some(char* out, size_t n) {
    if (!ok_) {
      error_ = "not a gzip stream";
      return 0;
    }
    z_.next_out = reinterpret_cast<Bytef*>(out);
    z_.avail_out = static_cast<uInt>(n > (1u << 30) ? (1u << 30) : n);
    const uInt wanted = z_.avail_out;
    while (z_.avail_out == wanted) {
      if (z_.avail_in == 0) {
        size_t got = std::fread(in_.data(), 1, in_.size(), f_);
        if (got == 0) return 0;  // end of the compressed data
        z_.next_in = reinterpret_cast<Bytef*>(in_.data());
        z_.avail_in = static_cast<uInt>(got);
      }
      int rc = ::inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        if (inflateReset(&z_) != Z_OK) return 0;  // a next member, if any, follows
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        error_ = "corrupt gzip data";
        ok_ = false;
        return 0;
      }
    }
    return wanted - z_.avail_out;
  }

  std::FILE* f_;
  bool gzip_;
  bool ok_ = true;
  z_stream z_{};
  std::array<char, 65536> in_{};
  std::string error_;
};

Error refused(const std::string& what, const std::string& entry, const std::string& why) {
  std::string shown = entry.substr(0, 200);
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return make_error(ErrorCode::kInvalidArgument, "image_refused",
                    what + (shown.empty() ? "" : ": \"" + shown + "\"") + ": " + why, "FILE");
}

std::string field(const char* p, size_t n) {
  size_t len = 0;
  while (len < n && p[len] != '\0') ++len;
  return std::string(p, len);
}

// A numeric header field: octal (NUL/space terminated) or GNU base-256 (high bit set).
std::optional<uint64_t> number(const char* p, size_t n) {
  if (static_cast<unsigned char>(p[0]) & 0x80) {
    if (static_cast<unsigned char>(p[0]) != 0x80) return std::nullopt;  // negative or too big
    uint64_t v = 0;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | static_cast<unsigned char>(p[i]);
    }
    return v;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < n && p[i] == ' ') ++i;
  bool any = false;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + static_cast<uint64_t>(p[i] - '0');
    any = true;
  }
  for (; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\0') return std::nullopt;
  }
  return any ? std::optional<uint64_t>(v) : std::optional<uint64_t>(0);
}

bool checksum_ok(const char* h) {
  auto want = number(h + 148, 8);
  if (!want) return false;
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  return sum == *want;
}

// "len key=value\n" records of a pax extended header: path, linkpath, size are what matter.
bool parse_pax(const std::string& data, std::string* path, std::string* link, bool* has_size,
               uint64_t* size) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t sp = data.find(' ', pos);
    if (sp == std::string::npos || sp == pos || sp - pos > 10) return false;
    uint64_t len = 0;
    for (size_t i = pos; i < sp; ++i) {
      if (data[i] < '0' || data[i] > '9') return false;
      len = len * 10 + static_cast<uint64_t>(data[i] - '0');
    }
    if (len < sp - pos + 3 || pos + len > data.size() || data[pos + len - 1] != '\n') return false;
    std::string record = data.substr(sp + 1, pos + len - sp - 2);
    size_t eq = record.find('=');
    if (eq == std::string::npos) return false;
    std::string key = record.substr(0, eq), value = record.substr(eq + 1);
    if (key == "path") *path = value;
    if (key == "linkpath") *link = value;
    if (key == "size") {
      uint64_t d = 0;
      if (value.empty() || value.size() > 19) return false;
      for (char c : value) {
        if (c < '0' || c > '9') return false;
        d = d * 10 + static_cast<uint64_t>(c - '0');
      }
      *size = d;
      *has_size = true;
    }
    pos += len;
  }
  return true;
}

// Whether a proper prefix of `path` (or `path` itself when `self`) is a symlink now.
bool beneath_symlink(const std::set<std::string>& links, const std::string& path) {
  for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1)) {
    if (links.count(path.substr(0, i))) return true;
  }
  return false;
}

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dir_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// A whiteout removes what it names from the layers below (OCI image spec, "Whiteouts").
void apply_whiteout(std::set<std::string>* links, const std::string& path) {
  std::string base = base_name(path), dir = dir_name(path);
  std::string prefix = dir.empty() ? "" : dir + "/";
  if (base == ".wh..wh..opq") {
    for (auto it = links->lower_bound(prefix); it != links->end() && it->rfind(prefix, 0) == 0;)
      it = links->erase(it);
    return;
  }
  std::string gone = prefix + base.substr(4);
  links->erase(gone);
  for (auto it = links->lower_bound(gone + "/");
       it != links->end() && it->rfind(gone + "/", 0) == 0;)
    it = links->erase(it);
}

}  // namespace

std::optional<std::string> normalise_member_path(const std::string& path) {
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(pos, slash - pos);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
    pos = slash + 1;
  }
  return out;
}

std::optional<Error> scan_layer(const std::string& file, bool gzip, const std::string& what,
                                const LayerLimits& limits, ScanState* state) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) return refused(what, "", "cannot be read");
  LayerReader in(f.get(), gzip);
  std::string long_name, long_link, pax_path, pax_link;
  bool has_pax_size = false;  // (not std::optional: GCC 12 warns maybe-uninitialized)
  uint64_t pax_size = 0;
  std::array<char, kBlock> h{};
  for (;;) {
    if (!in.read(h.data(), kBlock)) {
      // A layer may end without the two zero blocks; a stream error may not.
      if (!in.error().empty()) return refused(what, "", in.error());
      return std::nullopt;
    }
    if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) return std::nullopt;
    if (!checksum_ok(h.data())) return refused(what, "", "a tar header with a bad checksum");
    if (++state->entries > limits.max_entries) {
      return refused(what, "",
                     "more than " + std::to_string(limits.max_entries) + " entries in the image");
    }
    const char type = h[156];
    auto size = number(h.data() + 124, 12);
    if (!size) return refused(what, field(h.data(), 100), "a bad size field");
    // Metadata entries: their data names or describes the next entry.
    if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
      if (*size > kMaxPaxBytes) return refused(what, "", "an extended header over 1 MiB");
      std::string data(static_cast<size_t>((*size + kBlock - 1) / kBlock * kBlock), '\0');
      if (!in.read(data.data(), data.size())) return refused(what, "", "truncated");
      data.resize(static_cast<size_t>(*size));
      if (type == 'x' && !parse_pax(data, &pax_path, &pax_link, &has_pax_size, &pax_size))
        return refused(what, "", "a malformed pax header");
      if (type == 'L') long_name = field(data.c_str(), data.size());
      if (type == 'K') long_link = field(data.c_str(), data.size());
      continue;  // 'g' (global) records apply to nothing Enclave reads
    }
    std::string name = field(h.data(), 100);
    // The prefix field exists in POSIX ustar headers only (GNU headers keep times there).
    if (std::memcmp(h.data() + 257, "ustar\0", 6) == 0) {
      std::string prefix = field(h.data() + 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    std::string link = field(h.data() + 157, 100);
    // Two names for one entry: an unpacker might take either, so the scan could not vouch.
    if ((!long_name.empty() && !pax_path.empty() && long_name != pax_path) ||
        (!long_link.empty() && !pax_link.empty() && long_link != pax_link))
      return refused(what, pax_path, "an entry with two different names");
    if (!long_name.empty()) name = long_name;
    if (!pax_path.empty()) name = pax_path;
    if (!long_link.empty()) link = long_link;
    if (!pax_link.empty()) link = pax_link;
    const uint64_t data_size = has_pax_size ? pax_size : *size;
    long_name.clear(), long_link.clear(), pax_path.clear(), pax_link.clear();
    has_pax_size = false;
    const uint64_t data_padded = (data_size + kBlock - 1) / kBlock * kBlock;

    if (name.size() > kMaxPath || link.size() > kMaxPath)
      return refused(what, name, "a path over 4096 bytes");
    auto path = normalise_member_path(name);
    if (!path) return refused(what, name, "a path with a \"..\" component");
    if (beneath_symlink(state->symlinks, *path))
      return refused(what, name, "an entry beneath a symlink (it would be written through it)");
    const std::string base = base_name(*path);
    switch (type) {
      case '0':
      case '\0':
      case '7':
        if (data_size > limits.max_file_bytes) {
          return refused(what, name,
                         "a file of " + std::to_string(data_size) + " bytes, over the " +
                             std::to_string(limits.max_file_bytes) + "-byte limit");
        }
        state->total_bytes += data_size;
        if (state->total_bytes > limits.max_total_bytes) {
          return refused(what, name,
                         "the image unpacks to more than " +
                             std::to_string(limits.max_total_bytes) + " bytes");
        }
        if (base.rfind(".wh.", 0) == 0) {
          apply_whiteout(&state->symlinks, *path);
        } else {
          state->symlinks.erase(*path);
        }
        break;
      case '1': {
        auto target = normalise_member_path(link);
        if (!target) return refused(what, name, "a hard link to a path with \"..\"");
        if (state->symlinks.count(*target) || beneath_symlink(state->symlinks, *target))
          return refused(what, name, "a hard link through a symlink");
        state->symlinks.erase(*path);
        break;
      }
      case '2':
        if (!path->empty()) state->symlinks.insert(*path);
        break;
      case '5':
        state->symlinks.erase(*path);
        break;
      case '3':
      case '4':
        return refused(what, name, "a device node");
      case '6':
        return refused(what, name, "a FIFO");
      default:
        return refused(what, name,
                       std::string("an entry of tar type '") +
                           (type >= 0x20 && type < 0x7f ? std::string(1, type) : "?") + "'");
    }
    // Links and directories are header-only: whatever their size field says, no data follows
    // (as Go's archive/tar, which umoci unpacks with, reads them — the two must agree).
    const bool has_data = type == '0' || type == '\0' || type == '7';
    if (has_data && !in.skip(data_padded)) return refused(what, name, "truncated");
  }
}

}  // namespace enclave::images
