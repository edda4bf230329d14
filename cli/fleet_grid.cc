#include "cli/fleet_grid.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

namespace enclave::cli {

char tile_for_phase(std::string_view phase) {
  if (phase == "queued") return '.';
  if (phase == "starting") return 's';
  if (phase == "running") return 'R';
  if (phase == "succeeded") return 'o';
  if (phase == "killed") return 'K';
  if (phase == "failed") return 'F';
  return '?';
}

void merge_fleet_delta(JsonValue* fleet, const JsonValue& delta) {
  auto* fields = fleet->mutable_struct_value()->mutable_fields();
  for (const char* k : {"phase", "counts"})
    if (const JsonValue* v = member(delta, k)) (*fields)[k] = *v;
  const JsonValue* changed = member(delta, "members");
  if (!changed || changed->kind_case() != JsonValue::kListValue) return;
  auto* members = (*fields)["members"].mutable_list_value();
  for (const auto& m : changed->list_value().values()) {
    double index = get_number(m, "index", -1);
    bool found = false;
    for (auto& existing : *members->mutable_values()) {
      if (get_number(existing, "index", -2) == index) {
        existing = m;
        found = true;
        break;
      }
    }
    if (!found) *members->add_values() = m;
  }
}

bool fleet_phase_terminal(std::string_view phase) {
  return phase == "completed" || phase == "partial" || phase == "failed";
}

std::string progress_line(size_t total, size_t ended) {
  constexpr size_t kWidth = 30;
  size_t filled = total == 0 ? 0 : std::min(kWidth, ended * kWidth / total);
  size_t pct = total == 0 ? 0 : ended * 100 / total;
  return "progress [" + std::string(filled, '#') + std::string(kWidth - filled, '-') + "] " +
         std::to_string(ended) + "/" + std::to_string(total) + " ended (" + std::to_string(pct) +
         "%)";
}

namespace {

size_t ended_members(const JsonValue& fleet) {
  const JsonValue* c = member(fleet, "counts");
  if (!c) return 0;
  double n = 0;
  for (const char* k : {"succeeded", "failed", "killed"}) n += get_number(*c, k);
  return static_cast<size_t>(n);
}

}  // namespace

std::string render_fleet_frame(const JsonValue& fleet) {
  std::vector<std::pair<long long, char>> tiles;
  if (const JsonValue* members = member(fleet, "members");
      members && members->kind_case() == JsonValue::kListValue) {
    for (const auto& m : members->list_value().values()) {
      tiles.emplace_back(static_cast<long long>(get_number(m, "index")),
                         tile_for_phase(get_string(m, "phase")));
    }
  }
  std::stable_sort(tiles.begin(), tiles.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out = "fleet " + display_member(fleet, "id");
  std::string name = display_member(fleet, "name");
  if (!name.empty()) out += " (" + name + ")";
  out += "  phase: " + get_string(fleet, "phase", "?") +
         "  members: " + std::to_string(tiles.size()) + "\n";
  static const char* kCounts[] = {"queued", "starting", "running", "succeeded", "failed", "killed"};
  std::string counts;
  if (const JsonValue* c = member(fleet, "counts")) {
    for (const char* k : kCounts) {
      if (!counts.empty()) counts += "  ";
      counts += std::string(k) + " " + std::to_string(static_cast<long long>(get_number(*c, k)));
    }
  }
  out += counts + "\n";
  out += progress_line(tiles.size(), ended_members(fleet)) + "\n";
  for (size_t i = 0; i < tiles.size(); i += 10) {
    char label[32];
    std::snprintf(label, sizeof label, "%7zu  ", i);
    out += label;
    for (size_t k = i; k < std::min(tiles.size(), i + 10); ++k) out += tiles[k].second;
    out += "\n";
  }
  out += "legend: . queued  s starting  R running  o succeeded  K killed  F failed\n";
  return out;
}

}  // namespace enclave::cli
