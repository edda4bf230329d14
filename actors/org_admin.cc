#include "actors/org_admin.h"

#include "events/clock.h"
#include "events/ids.h"

namespace enclave::orgs {

Result<org_settings::State> load(storage::EventLog& log) {
  auto events = log.read_stream(orgs_stream_id());
  if (!events) return events.error();
  org_settings::State s;
  for (const auto& e : *events) s = org_settings::apply(std::move(s), e.envelope);
  return s;
}

Result<org_settings::Settings> set(const std::string& data_dir, const std::string& org,
                                   std::optional<int64_t> weight, std::optional<int64_t> max_queued,
                                   std::optional<int64_t> max_live) {
  if (!org_settings::valid_org(org))
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "ORG must be 1..64 characters of [A-Za-z0-9_-]", "org");
  auto log = storage::EventLog::open(data_dir, storage::OpenMode::kReadWrite);
  if (!log) return log.error();
  auto state = load(**log);
  if (!state) return state.error();
  auto next = org_settings::change(org_settings::of(*state, org), weight, max_queued, max_live);
  if (!next) return next.error();
  events::Envelope e;
  e.set_stream(orgs_stream_id());
  e.set_seq(state->last_seq + 1);
  e.set_at_ms(system_clock()());
  e.set_org_id("_system");
  auto* o = e.mutable_org_settings_set();
  o->set_org_id(org);
  o->set_weight(next->weight);
  o->set_max_queued(next->max_queued);
  o->set_max_live(next->max_live);
  auto r = (*log)->append({storage::Append{orgs_stream_id(), state->last_seq, {std::move(e)}}});
  if (!r) return r.error();
  return *next;
}

Result<org_settings::State> list(const std::string& data_dir) {
  auto log = storage::EventLog::open(data_dir, storage::OpenMode::kReadOnly);
  if (!log) return log.error();
  return load(**log);
}

}  // namespace enclave::orgs
