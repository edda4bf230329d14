#include "cli/args.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace enclave::cli {

std::string Options::get(const std::string& name, const std::string& dflt) const {
  auto it = values.find(name);
  return it == values.end() || it->second.empty() ? dflt : it->second.back();
}

const std::vector<std::string>& Options::all(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = values.find(name);
  return it == values.end() ? none : it->second;
}

Options parse_options(const std::vector<std::string>& words, const std::set<std::string>& valued,
                      const std::set<std::string>& boolean) {
  Options o;
  bool only_positional = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (only_positional || w.size() < 3 || w.rfind("--", 0) != 0) {
      if (w == "--" && !only_positional) {
        only_positional = true;
        continue;
      }
      o.positional.push_back(w);
      continue;
    }
    std::string name = w.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    if (boolean.count(name)) {
      if (has_value) {
        o.error = "--" + name + " takes no value";
        return o;
      }
      o.flags.insert(name);
    } else if (valued.count(name)) {
      if (!has_value) {
        if (i + 1 >= words.size()) {
          o.error = "--" + name + " needs a value";
          return o;
        }
        value = words[++i];
      }
      o.values[name].push_back(value);
    } else {
      o.error = "unknown option --" + name;
      return o;
    }
  }
  return o;
}

bool read_input(const std::string& path, std::string* out, std::string* error) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    *out = ss.str();
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
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
