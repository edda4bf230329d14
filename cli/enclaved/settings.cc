#include "cli/enclaved/settings.h"

#include <cstdlib>
#include <sstream>

namespace enclave::enclaved {

namespace {

// How an error names where a value came from: the flag, and the variable if it came from there.
std::string who(const Setting& s, bool from_env) {
  if (s.flag.empty()) return s.env;
  return from_env ? "--" + s.flag + " (from " + s.env + ")" : "--" + s.flag;
}

std::string join(const std::vector<std::string>& words, const char* sep) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

// "" when `text` is a valid value of `s`, else why not; `*canonical` is the value stored.
std::string check(const Setting& s, const std::string& text, std::string* canonical) {
  *canonical = text;
  switch (s.kind) {
    case Kind::kText:
      return "";
    case Kind::kInteger: {
      bool digits = !text.empty() && text.size() <= 18;
      for (char c : text) digits = digits && c >= '0' && c <= '9';
      if (digits) {
        int64_t n = std::stoll(text);
        if (n >= s.min && n <= s.max) {
          *canonical = std::to_string(n);
          return "";
        }
      }
      return "must be " + std::to_string(s.min) + ".." + std::to_string(s.max) + ", got '" + text +
             "'";
    }
    case Kind::kChoice:
      for (const auto& c : s.choices)
        if (c == text) return "";
      return "must be one of " + join(s.choices, ", ") + ", got '" + text + "'";
    case Kind::kSwitch:
      if (text == "1" || text == "true") {
        *canonical = "1";
        return "";
      }
      if (text == "0" || text == "false") {
        *canonical = "0";
        return "";
      }
      return "must be 1, 0, true or false, got '" + text + "'";
  }
  return "unknown kind";
}

const std::string& lookup(const Values& v, const std::string& key) {
  auto it = v.by_key.find(key);
  if (it == v.by_key.end()) std::abort();  // a key the table does not have: a bug
  return it->second;
}

}  // namespace

const Setting& serve_setting(const std::string& key) {
  for (const auto& s : serve_settings())
    if (s.key() == key) return s;
  std::abort();  // a key the table does not have: a bug
}

std::set<std::string> valued_flags(const std::vector<Setting>& table) {
  std::set<std::string> out;
  for (const auto& s : table)
    if (!s.flag.empty() && s.kind != Kind::kSwitch) out.insert(s.flag);
  return out;
}

std::set<std::string> switch_flags(const std::vector<Setting>& table) {
  std::set<std::string> out;
  for (const auto& s : table)
    if (!s.flag.empty() && s.kind == Kind::kSwitch) out.insert(s.flag);
  return out;
}

const std::string& Values::text(const std::string& key) const { return lookup(*this, key); }
int64_t Values::integer(const std::string& key) const { return std::stoll(lookup(*this, key)); }
bool Values::on(const std::string& key) const { return lookup(*this, key) == "1"; }

Resolved resolve_one(const Setting& s, const cli::Options& options, const GetEnv& getenv) {
  Resolved r;
  std::string text = s.dflt;
  bool from_env = false;
  if (!s.flag.empty() && s.kind == Kind::kSwitch && options.flag(s.flag)) {
    text = "1";
  } else if (!s.flag.empty() && options.has(s.flag)) {
    text = options.get(s.flag);
  } else if (const char* v = s.env.empty() ? nullptr : getenv(s.env.c_str()); v && *v) {
    text = v;
    from_env = true;
  }
  std::string canonical;
  // An unset text setting stays "" (none); every other kind has a default to check.
  if (!(s.kind == Kind::kText && text.empty())) {
    if (auto why = check(s, text, &canonical); !why.empty()) {
      r.error = who(s, from_env) + ": " + why;
      return r;
    }
  }
  r.values.by_key[s.key()] = canonical;
  return r;
}

Resolved resolve(const std::vector<Setting>& table, const cli::Options& options,
                 const GetEnv& getenv) {
  Resolved all;
  for (const auto& s : table) {
    Resolved one = resolve_one(s, options, getenv);
    if (!one.error.empty()) {
      all.error = one.error;
      return all;
    }
    all.values.by_key.merge(one.values.by_key);
  }
  return all;
}

std::string settings_help(const std::vector<Setting>& table) {
  std::ostringstream out;
  std::string section;
  for (const auto& s : table) {
    if (s.section != section) {
      section = s.section;
      out << section << ":\n";
    }
    std::string left =
        s.flag.empty() ? s.env : "--" + s.flag + (s.value.empty() ? "" : " " + s.value);
    std::string right = s.flag.empty() || s.env.empty() ? "" : s.env + "  ";
    out << "  " << left << "\n      " << right;
    std::string doc = s.doc;
    if (!s.dflt.empty()) doc += " Default: " + s.dflt + ".";
    // Wrapped at about 100 columns, under the flag.
    size_t col = 6 + right.size();
    bool line_start = true;
    std::istringstream words(doc);
    for (std::string w; words >> w;) {
      if (col + w.size() + 1 > 100 && col > 6) {
        out << "\n      ";
        col = 6;
        line_start = true;
      }
      out << (line_start ? "" : " ") << w;
      col += w.size() + 1;
      line_start = false;
    }
    out << "\n";
  }
  return out.str();
}

std::string settings_markdown(const std::vector<Setting>& table) {
  std::ostringstream out;
  out << "# enclaved configuration\n\n"
         "<!-- Generated by `enclaved config-doc > docs/CONFIG.md` from the settings table in\n"
         "     cli/enclaved/settings_table.cc; the docs.config test fails when they differ. -->\n\n"
         "Every setting of `enclaved serve` is a flag and an environment variable; the flag wins\n"
         "over the variable, the variable over the default (an empty variable counts as unset).\n"
         "A value out of bounds stops the start with exit code 2 and a message naming the flag.\n";
  std::string section;
  for (const auto& s : table) {
    if (s.section != section) {
      section = s.section;
      out << "\n## " << section << "\n\n"
          << "| Flag | Environment | Default | Values | Meaning |\n"
          << "|---|---|---|---|---|\n";
    }
    std::string values;
    switch (s.kind) {
      case Kind::kText:
        values = s.value;
        break;
      case Kind::kInteger:
        values = std::to_string(s.min) + "..";
        values += std::to_string(s.max);
        break;
      case Kind::kChoice:
        values = join(s.choices, " \\| ");
        break;
      case Kind::kSwitch:
        values = "flag; variable 1, 0, true, false";
        break;
    }
    out << "| " << (s.flag.empty() ? "" : "`--" + s.flag + "`") << " | "
        << (s.env.empty() ? "" : "`" + s.env + "`") << " | "
        << (s.dflt.empty() ? "none" : "`" + s.dflt + "`") << " | " << values << " | " << s.doc
        << " |\n";
  }
  return out.str();
}

}  // namespace enclave::enclaved
