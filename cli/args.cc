#include "cli/args.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace enclave::cli {

bool read_input(const std::string& path, std::string* out, std::string* error) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    *out = ss.str();
    return true;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    *error = "cannot read " + path + ": it is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool parse_uint(const std::string& text, long long* out) {
  if (text.empty() || text.size() > 15) return false;
  long long n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *out = n;
  return true;
}

int fail(const std::string& message, int code) {
  std::cerr << "enclave: " << message << "\n";
  return code;
}

int usage(const std::string& usage_text, const std::string& why) {
  if (!why.empty()) std::cerr << "enclave: " << why << "\n";
  std::cerr << "usage: " << usage_text << "\n";
  return 2;
}

}  // namespace enclave::cli
