// JSON of the crawl's records, derived from their descriptions (records.hpp). The only
// per-record knowledge here is which fields an output leaves out when they are empty.
#include "rankpool/crawl/records.hpp"

#include <boost/describe/members.hpp>
#include <boost/json.hpp>
#include <boost/mp11/algorithm.hpp>
#include <stdexcept>

namespace rankpool::crawl {
namespace {

namespace json = boost::json;

/// The members of `v` that `written(name)` accepts, in the description's order.
template <class T, class Written>
json::object fields_to_json(const T& v, Written&& written) {
  json::object o;
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>([&](auto d) {
    if (written(std::string_view(d.name))) o[d.name] = json::value_from(v.*d.pointer);
  });
  return o;
}

/// The members found in `o`; one that `optional(name)` does not allow to be missing must be
/// there. Throws (std::exception) on a missing field or a value of the wrong type.
template <class T, class Optional>
T fields_from_json(const json::object& o, Optional&& optional) {
  T v{};
  boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>([&](auto d) {
    using Member = std::remove_cvref_t<decltype(v.*d.pointer)>;
    if (const json::value* f = o.if_contains(d.name)) {
      v.*d.pointer = json::value_to<Member>(*f);
    } else if (!optional(std::string_view(d.name))) {
      throw std::invalid_argument(std::string("no \"") + d.name + "\" field");
    }
  });
  return v;
}

template <class T, class Optional>
Result<T> from_json_value(const json::value& jv, Optional&& optional) {
  try {
    if (!jv.is_object()) return Status::error("not a JSON object");
    return fields_from_json<T>(jv.as_object(), optional);
  } catch (const std::exception& e) {
    return Status::error(e.what());
  }
}

// The audit fields, written only when set (and absent from logs older than them).
bool page_audit_field(std::string_view name) {
  return name == "fetched_at" || name == "ip" || name == "payload_sha1" || name == "referrer" ||
         name == "last_modified" || name == "etag";
}

bool page_field_optional(std::string_view name) {
  return name == "error" || name == "error_kind" || name == "redirect" || name == "body_file" || name == "nofollow" ||
         name == "attempts" || name == "retried" || page_audit_field(name);
}

bool host_field_optional(std::string_view name) { return name != "origin" && name != "robots"; }

}  // namespace

std::string to_json_line(const PageRecord& r) {
  return json::serialize(fields_to_json(r, [&](std::string_view name) {
    if (name == "error" || name == "error_kind") return !r.error.empty();
    if (name == "redirect") return !r.redirect.empty();
    if (name == "body_file") return !r.body_file.empty();
    if (name == "nofollow") return r.nofollow;
    if (name == "retried") return !r.retried.empty();
    if (name == "fetched_at") return !r.fetched_at.empty();
    if (name == "ip") return !r.ip.empty();
    if (name == "payload_sha1") return !r.payload_sha1.empty();
    if (name == "referrer") return !r.referrer.empty();
    if (name == "last_modified") return !r.last_modified.empty();
    if (name == "etag") return !r.etag.empty();
    return true;
  }));
}

Result<PageRecord> page_record_from_json(std::string_view line) {
  json::error_code ec;
  const json::value v = json::parse(line, ec);
  if (ec) return Status::error(ec.message());
  return from_json_value<PageRecord>(v, page_field_optional);
}

json::object to_json(const HostCheckpoint& h) {
  return fields_to_json(h, [&](std::string_view name) {
    if (name == "robots_body") return !h.robots_body.empty();
    if (name == "unreachable_error" || name == "unreachable_kind") return !h.unreachable_error.empty();
    return true;
  });
}

Result<HostCheckpoint> host_checkpoint_from_json(const json::value& v) {
  return from_json_value<HostCheckpoint>(v, host_field_optional);
}

}  // namespace rankpool::crawl
