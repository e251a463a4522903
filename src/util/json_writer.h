// A streaming JSON writer whose output is byte-for-byte what
// nlohmann::json::dump(indent) prints for the same document, without building
// the document in memory first. Used where the output is large (colshift lint
// --format json writes every statement with its facts).
//
// Keys are written in the order given; callers that must match nlohmann's
// std::map-ordered dump give them in sorted order. Invalid UTF-8 in strings is
// replaced by U+FFFD (nlohmann's dump would throw instead).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace colshift::util {

class JsonWriter {
 public:
  // Appends to `out`. indent < 0: compact, one line.
  explicit JsonWriter(std::string& out, int indent = 2) : out_(out), indent_(indent) {}
  // Writes one value as it would appear nested `depth` containers deep (an
  // element of an array at that depth), without the separator before it, for
  // fragment() of another writer: fragments can be rendered on several
  // threads and put together in order.
  JsonWriter(std::string& out, int indent, size_t depth)
      : out_(out), indent_(indent), empty_(depth, false), after_key_(true) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // The next value is this member of the current object.
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(int v) { return value(static_cast<long long>(v)); }
  JsonWriter& value(long v) { return value(static_cast<long long>(v)); }
  JsonWriter& value(long long v);
  JsonWriter& value(unsigned long v) { return value(static_cast<unsigned long long>(v)); }
  JsonWriter& value(unsigned long long v);
  JsonWriter& null();
  // An already serialized JSON value (compact, or dumped with the same
  // indent at depth 0: its lines are re-indented to the current depth).
  JsonWriter& raw(std::string_view json);
  // A value written by a JsonWriter constructed with this writer's indent and
  // its current depth (the number of open containers), appended as it is.
  JsonWriter& fragment(std::string_view json);
  size_t depth() const { return empty_.size(); }

  // key(k).value(v) in one call.
  template <typename T>
  JsonWriter& member(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  // Appends `s` as a quoted JSON string (the escaping nlohmann uses).
  static void escape(std::string_view s, std::string& out);

 private:
  void before_value();
  void newline_indent(size_t depth);
  JsonWriter& close(char c);

  std::string& out_;
  int indent_;
  std::vector<bool> empty_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace colshift::util
