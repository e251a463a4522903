#include "util/json_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "util/text.h"

namespace colshift::util {

namespace {

// Bytes copied as they are: printable ASCII but the quote and the backslash.
constexpr auto kPlain = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

// The length of the run of plain bytes at the start of s, read eight bytes at
// a time while a word holds no byte below 0x20 or from 0x80, no quote and no
// backslash, then byte by byte.
size_t plain_run(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  auto zero_byte = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t v;
    std::memcpy(&v, s.data() + i, 8);
    uint64_t special = (v & kHighs) | ((v - 0x20 * kOnes) & ~v & kHighs) |
                       zero_byte(v ^ ('"' * kOnes)) | zero_byte(v ^ ('\\' * kOnes));
    if (special) break;
  }
  while (i < s.size() && kPlain[static_cast<unsigned char>(s[i])]) ++i;
  return i;
}

// A line break and the indentation after it are appended from this run, in
// one piece up to 64 spaces deep.
constexpr std::string_view kNewlineSpaces =
    "\n                                                                ";

}  // namespace

void JsonWriter::escape(std::string_view s, std::string& out) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one go.
    size_t run = plain_run(s.substr(i));
    out.append(s.data() + i, run);
    i += run;
    if (i >= s.size()) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += fmt::format("\\u{:04x}", c);
    }
    ++i;
  }
  out += '"';
}

void JsonWriter::newline_indent(size_t depth) {
  if (indent_ < 0) return;
  size_t n = depth * static_cast<size_t>(indent_);
  size_t run = std::min(n, kNewlineSpaces.size() - 1);
  out_.append(kNewlineSpaces.data(), run + 1);
  for (n -= run; n > 0; n -= run) {
    run = std::min(n, kNewlineSpaces.size() - 1);
    out_.append(kNewlineSpaces.data() + 1, run);
  }
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (empty_.empty()) return;  // the top-level value
  if (!empty_.back()) out_ += ',';
  empty_.back() = false;
  newline_indent(empty_.size());
}

JsonWriter& JsonWriter::key(std::string_view k) {
  before_value();
  escape(k, out_);
  out_.append(": ", indent_ < 0 ? 1 : 2);
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  empty_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ += '[';
  empty_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::close(char c) {
  bool was_empty = empty_.back();
  empty_.pop_back();
  if (!was_empty) newline_indent(empty_.size());
  out_ += c;
  return *this;
}

JsonWriter& JsonWriter::end_object() { return close('}'); }
JsonWriter& JsonWriter::end_array() { return close(']'); }

JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  escape(s, out_);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  before_value();
  out_.append(b ? std::string_view("true") : std::string_view("false"));
  return *this;
}

JsonWriter& JsonWriter::value(long long v) {
  before_value();
  fmt::format_int digits(v);
  out_.append(digits.data(), digits.size());
  return *this;
}

JsonWriter& JsonWriter::value(unsigned long long v) {
  before_value();
  fmt::format_int digits(v);
  out_.append(digits.data(), digits.size());
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_.append("null", 4);
  return *this;
}

JsonWriter& JsonWriter::fragment(std::string_view json) {
  before_value();
  out_.append(json);
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  before_value();
  if (indent_ < 0 || empty_.empty()) {
    out_.append(json);
    return *this;
  }
  std::string pad(empty_.size() * static_cast<size_t>(indent_), ' ');
  for (char c : json) {
    out_ += c;
    if (c == '\n') out_ += pad;
  }
  return *this;
}

}  // namespace colshift::util
