#include "events/snapshot.h"

#include <google/protobuf/reflection.h>

#include <cassert>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace enclave::snapshot {

namespace {

namespace pb = google::protobuf;

using Fields = std::vector<const pb::FieldDescriptor*>;

template <class T>
constexpr bool is_optional = std::is_same_v<T, std::optional<int32_t>>;

// The snapshot fields a list names, in the order it names them (`has_<name>` before an
// optional's `<name>`). The lists name only fields that exist (snapshot_shape_test walks them).
struct Lister {
  const pb::Descriptor* d;
  Fields* out;
  template <class T>
  void operator()(const char* n, const T&) {
    if constexpr (is_optional<T>) add(std::string("has_") + n);
    add(n);
  }
  void add(const std::string& n) {
    out->push_back(d->FindFieldByName(n));
    assert(out->back() != nullptr);
  }
};

// Looked up once: walking by name on every snapshot costs ten times the copy itself.
const Fields& session_order() {
  static const Fields order = [] {
    Fields f;
    const session::State s;
    session_fields(s, Lister{events::SessionSnapshot::descriptor(), &f});
    return f;
  }();
  return order;
}

const Fields& fleet_order() {
  static const Fields order = [] {
    Fields f;
    const fleet::State s;
    fleet_fields(s, Lister{events::FleetSnapshot::descriptor(), &f});
    return f;
  }();
  return order;
}

template <class T>
constexpr bool is_message = std::is_base_of_v<pb::Message, T>;

// State member → snapshot field (of(): a `const` state walked).
class Writer {
 public:
  Writer(pb::Message* m, const Fields& order) : m_(m), r_(m->GetReflection()), order_(order) {}

  void operator()(const char* n, const std::string& v) { r_->SetString(m_, at(n), v); }
  void operator()(const char* n, bool v) { r_->SetBool(m_, at(n), v); }
  void operator()(const char* n, uint32_t v) { r_->SetUInt32(m_, at(n), v); }
  void operator()(const char* n, uint64_t v) { r_->SetUInt64(m_, at(n), v); }
  void operator()(const char* n, int64_t v) { r_->SetInt64(m_, at(n), v); }
  void operator()(const char* n, session::Phase v) {
    r_->SetInt32(m_, at(n), static_cast<int32_t>(v));
  }
  void operator()(const char* n, events::KillReason v) { r_->SetEnumValue(m_, at(n), v); }
  void operator()(const char* n, const std::optional<int32_t>& v) {
    const auto* has = at(n);  // has_<n> comes first
    r_->SetBool(m_, has, v.has_value());
    r_->SetInt32(m_, at(n), v.value_or(0));
  }
  void operator()(const char* n, const std::vector<std::string>& v) {
    const auto* f = at(n);
    for (const auto& x : v) r_->AddString(m_, f, x);
  }
  void operator()(const char* n, const std::vector<session::Phase>& v) {
    const auto* f = at(n);
    for (auto x : v) r_->AddInt32(m_, f, static_cast<int32_t>(x));
  }
  template <class M>
  requires is_message<M>
  void operator()(const char* n, const M& v) { r_->MutableMessage(m_, at(n))->CopyFrom(v); }

 private:
  // The next field in list order (`n` is the same list's name for it).
  const pb::FieldDescriptor* at(const char*) { return order_[i_++]; }
  pb::Message* m_;
  const pb::Reflection* r_;
  const Fields& order_;
  size_t i_ = 0;
};

// Snapshot field → state member (*_from(): a default state walked).
class Reader {
 public:
  Reader(const pb::Message& m, const Fields& order) : m_(m), r_(m.GetReflection()), order_(order) {}

  void operator()(const char* n, std::string& v) { v = r_->GetString(m_, at(n)); }
  void operator()(const char* n, bool& v) { v = r_->GetBool(m_, at(n)); }
  void operator()(const char* n, uint32_t& v) { v = r_->GetUInt32(m_, at(n)); }
  void operator()(const char* n, uint64_t& v) { v = r_->GetUInt64(m_, at(n)); }
  void operator()(const char* n, int64_t& v) { v = r_->GetInt64(m_, at(n)); }
  void operator()(const char* n, session::Phase& v) {
    v = static_cast<session::Phase>(r_->GetInt32(m_, at(n)));
  }
  void operator()(const char* n, events::KillReason& v) {
    v = static_cast<events::KillReason>(r_->GetEnumValue(m_, at(n)));
  }
  void operator()(const char* n, std::optional<int32_t>& v) {
    const auto* has = at(n);  // has_<n> comes first
    const auto* value = at(n);
    if (r_->GetBool(m_, has)) v = r_->GetInt32(m_, value);
  }
  void operator()(const char* n, std::vector<std::string>& v) {
    for (const auto& x : r_->GetRepeatedFieldRef<std::string>(m_, at(n))) v.push_back(x);
  }
  void operator()(const char* n, std::vector<session::Phase>& v) {
    for (int32_t x : r_->GetRepeatedFieldRef<int32_t>(m_, at(n)))
      v.push_back(static_cast<session::Phase>(x));
  }
  template <class M>
  requires is_message<M>
  void operator()(const char* n, M& v) { v.CopyFrom(r_->GetMessage(m_, at(n))); }

 private:
  const pb::FieldDescriptor* at(const char*) { return order_[i_++]; }
  const pb::Message& m_;
  const pb::Reflection* r_;
  const Fields& order_;
  size_t i_ = 0;
};

}  // namespace

events::SessionSnapshot of(const session::State& s) {
  events::SessionSnapshot p;
  session_fields(s, Writer(&p, session_order()));
  return p;
}

session::State session_from(const events::SessionSnapshot& p) {
  session::State s;
  session_fields(s, Reader(p, session_order()));
  s.exists = !s.id.empty();
  return s;
}

events::FleetSnapshot of(const fleet::State& f) {
  events::FleetSnapshot p;
  fleet_fields(f, Writer(&p, fleet_order()));
  return p;
}

fleet::State fleet_from(const events::FleetSnapshot& p) {
  fleet::State f;
  fleet_fields(f, Reader(p, fleet_order()));
  f.exists = !f.id.empty();
  f.member_phases.resize(f.member_ids.size(), session::Phase::kQueued);
  f.counts = fleet::count_phases(f.member_phases);
  return f;
}

}  // namespace enclave::snapshot
