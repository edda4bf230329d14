#include "backends/simulator/sim_script.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace enclave::backends::sim {

namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// "text" with C escapes → text. Returns the unquoted string, or the raw value if not quoted.
std::string unquote(const std::string& v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return v;
  std::string out;
  for (size_t i = 1; i + 1 < v.size(); ++i) {
    if (v[i] == '\\' && i + 2 < v.size()) {
      char n = v[++i];
      out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
    } else {
      out += v[i];
    }
  }
  return out;
}

// The text between the outermost parentheses of `call(...)` at the start of `line`.
std::optional<std::string> call_arg(const std::string& line, const std::string& name) {
  if (line.rfind(name + "(", 0) != 0 || line.back() != ')') return std::nullopt;
  return trim(line.substr(name.size() + 1, line.size() - name.size() - 2));
}

void directive(Script& s, const std::string& body) {
  auto eq = body.find('=');
  std::string key = trim(body.substr(0, eq));
  std::string value = eq == std::string::npos ? "" : trim(body.substr(eq + 1));
  if (key == "sleep_ms") {
    s.sleep_ms = std::atoll(value.c_str());
  } else if (key == "exit") {
    s.exit_code = std::atoi(value.c_str());
  } else if (key == "stdout") {
    s.stdout_text += unquote(value) + "\n";
  } else if (key == "stderr") {
    s.stderr_text += unquote(value) + "\n";
  } else if (key == "result") {
    s.result_json = value;
  } else if (key == "egress") {
    auto colon = value.rfind(':');
    if (colon != std::string::npos)
      s.egress.emplace_back(value.substr(0, colon),
                            static_cast<uint32_t>(std::atoi(value.c_str() + colon + 1)));
  } else if (key == "hang") {
    s.hang = true;
  } else if (key == "ignore_interrupt") {
    s.ignore_interrupt = true;
  } else if (key == "oom") {
    s.oom = true;
  } else if (key == "start_fail") {
    s.start_fail = true;
  } else if (key == "teardown_left") {
    s.teardown_left = std::max(0, std::atoi(value.c_str()));
  } else if (key == "cpu_ms") {
    s.cpu_ms = static_cast<uint64_t>(std::atoll(value.c_str()));
  }
}

}  // namespace

std::optional<std::string> python_literal_to_json(const std::string& lit) {
  std::string out;
  size_t i = 0;
  while (i < lit.size()) {
    char c = lit[i];
    if (c == '\'' || c == '"') {
      char q = c;
      out += '"';
      for (++i; i < lit.size() && lit[i] != q; ++i) {
        if (lit[i] == '\\' && i + 1 < lit.size()) {
          out += lit[i];
          out += lit[++i];
        } else if (lit[i] == '"') {
          out += "\\\"";
        } else {
          out += lit[i];
        }
      }
      if (i >= lit.size()) return std::nullopt;
      out += '"';
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < lit.size() && std::isalnum(static_cast<unsigned char>(lit[j]))) ++j;
      std::string word = lit.substr(i, j - i);
      if (word == "True")
        out += "true";
      else if (word == "False")
        out += "false";
      else if (word == "None")
        out += "null";
      else
        return std::nullopt;  // a name: not a literal
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || std::strchr("-+.eE{}[]:, \t", c)) {
      out += c;
      ++i;
    } else {
      return std::nullopt;
    }
  }
  if (trim(out).empty()) return std::nullopt;
  return trim(out);
}

Script parse(const std::string& code) {
  Script s;
  std::istringstream in(code);
  std::string raw;
  while (std::getline(in, raw)) {
    std::string line = trim(raw);
    auto d = line.find("#@sim");
    if (d != std::string::npos) {
      std::string rest = trim(line.substr(d + 5));
      // several directives may share a line when separated by ';'
      std::string part;
      std::istringstream parts(rest);
      if (rest.find("stdout=") == 0 || rest.find("stderr=") == 0 || rest.find("result=") == 0) {
        directive(s, rest);
      } else {
        while (std::getline(parts, part, ' '))
          if (!trim(part).empty()) directive(s, trim(part));
      }
      continue;
    }
    if (auto a = call_arg(line, "print")) {
      if (auto j = python_literal_to_json(*a)) {
        std::string v = *a;
        if (!v.empty() && (v.front() == '\'' || v.front() == '"')) v = v.substr(1, v.size() - 2);
        s.stdout_text += v + "\n";
      }
    } else if (auto r = call_arg(line, "enclave.result")) {
      if (auto j = python_literal_to_json(*r)) s.result_json = *j;
    } else if (auto e = call_arg(line, "sys.exit"); e || (e = call_arg(line, "exit"))) {
      s.exit_code = std::atoi(e->c_str());
    } else if (line.rfind("raise", 0) == 0) {
      s.exit_code = 1;
      s.stderr_text += "Traceback (most recent call last):\n  " + line + "\n";
    }
  }
  return s;
}

}  // namespace enclave::backends::sim
