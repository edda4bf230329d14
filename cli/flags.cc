#include "cli/flags.h"

#include <algorithm>

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

size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment: insertions, deletions, substitutions and adjacent swaps ("lsit").
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string closest(const std::string& word, const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = 0;
  const size_t limit = std::max<size_t>(1, std::min<size_t>(3, word.size() / 3));
  for (const auto& k : known) {
    const size_t d = edit_distance(word, k);
    if (d <= limit && (best.empty() || d < best_d)) best = k, best_d = d;
  }
  return best;
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
    // The output convention: a verb with --json also takes --output json|table (text).
    if (name == "output" && !valued.count(name) && boolean.count("json")) {
      if (!has_value && i + 1 < words.size()) value = words[++i], has_value = true;
      if (value == "json") {
        o.flags.insert("json");
      } else if (value != "table" && value != "text") {
        o.error = "--output must be table or json";
        return o;
      }
      continue;
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
      std::vector<std::string> known(valued.begin(), valued.end());
      known.insert(known.end(), boolean.begin(), boolean.end());
      if (auto guess = closest(name, known); !guess.empty())
        o.error += " (did you mean --" + guess + "?)";
      return o;
    }
  }
  return o;
}

bool wants_help(const std::vector<std::string>& words) {
  for (const auto& w : words) {
    if (w == "--") return false;
    if (w == "--help" || w == "-h") return true;
  }
  return false;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    if (comma > pos) out.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

}  // namespace enclave::cli
