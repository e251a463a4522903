#include "lint/tree_json.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

#include "util/utf8.h"

namespace colshift::lint {
namespace {

using json = nlohmann::json;

// Deeper than this, the reader gives up and leaves the text to nlohmann's
// parser, which keeps its own stack on the heap.
constexpr int kMaxDepth = 2000;

// Length of the well-formed UTF-8 sequence at s (s[0] >= 0x80), or 0.
size_t utf8_length(const unsigned char* s, const unsigned char* end) {
  unsigned char c = s[0];
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
  if (n == 0 || (n == 3 && c > 0xEF) || static_cast<size_t>(end - s) < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((s[i] & 0xC0) != 0x80) return 0;
  }
  // Overlong forms, surrogates and code points past U+10FFFF.
  if (c == 0xE0 && s[1] < 0xA0) return 0;
  if (c == 0xED && s[1] >= 0xA0) return 0;
  if (c == 0xF0 && s[1] < 0x90) return 0;
  if (c == 0xF4 && s[1] >= 0x90) return 0;
  return n;
}

class Reader {
 public:
  explicit Reader(const char* text)
      : p_(reinterpret_cast<const unsigned char*>(text)), end_(p_ + std::strlen(text)) {}

  // False when the text is not one well-formed JSON value.
  bool read(json& out) {
    if (!value(out, 0)) return false;
    skip_space();
    return p_ == end_;
  }

 private:
  const unsigned char* p_;
  const unsigned char* end_;

  void skip_space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\t' || *p_ == '\r')) ++p_;
  }

  // Just past an opening bracket: whether `close` follows at once (then past it).
  bool opened_empty(char close) {
    skip_space();
    if (p_ < end_ && *p_ == close) {
      ++p_;
      return true;
    }
    return false;
  }

  // After a member or element: a comma (true), or `close` (true, `done` set).
  bool separator(char close, bool& done) {
    skip_space();
    if (p_ >= end_) return false;
    if (*p_ == close) done = true;
    if (*p_ != ',' && *p_ != close) return false;
    ++p_;
    return true;
  }

  bool literal(const char* word, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }

  bool hex4(unsigned& out) {
    if (end_ - p_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      unsigned char c = *p_++;
      unsigned d = c >= '0' && c <= '9'   ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : 16;
      if (d == 16) return false;
      out = out * 16 + d;
    }
    return true;
  }

  // A string, p_ just past its opening quote.
  bool string(std::string& out) {
    const unsigned char* run = p_;
    while (true) {
      // The plain run up to the next quote, backslash, control or non-ASCII byte.
      while (p_ < end_ && *p_ != '"' && *p_ != '\\' && *p_ >= 0x20 && *p_ < 0x80) ++p_;
      if (p_ >= end_) return false;
      unsigned char c = *p_;
      if (c == '"') {
        out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p_ - run));
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        size_t n = utf8_length(p_, end_);
        if (n == 0) return false;
        p_ += n;
        continue;
      }
      out.append(reinterpret_cast<const char*>(run), static_cast<size_t>(p_ - run));
      ++p_;
      if (p_ >= end_) return false;
      switch (*p_++) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned low;
            if (!literal("\\u", 2) || !hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          util::append_utf8(cp, out);
          break;
        }
        default:
          return false;
      }
      run = p_;
    }
  }

  bool number(json& out) {
    const unsigned char* start = p_;
    if (*p_ == '-') ++p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    bool integral = true;
    while (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E' || *p_ == '+' || *p_ == '-' ||
                         (*p_ >= '0' && *p_ <= '9'))) {
      integral = false;
      ++p_;
    }
    const char* b = reinterpret_cast<const char*>(start);
    const char* e = reinterpret_cast<const char*>(p_);
    if (integral) {
      // As nlohmann's parser: unsigned when not negative, signed otherwise,
      // a double when it does not fit either.
      if (*start == '-') {
        std::int64_t v;
        auto r = std::from_chars(b, e, v);
        if (r.ec == std::errc() && r.ptr == e) {
          out = v;
          return true;
        }
      } else {
        std::uint64_t v;
        auto r = std::from_chars(b, e, v);
        if (r.ec == std::errc() && r.ptr == e) {
          out = v;
          return true;
        }
      }
    }
    std::string text(b, e);
    char* stop = nullptr;
    double d = std::strtod(text.c_str(), &stop);
    if (stop != text.c_str() + text.size() || text.empty() || text == "-") return false;
    out = d;
    return true;
  }

  bool value(json& out, int depth) {
    skip_space();
    if (p_ >= end_ || depth > kMaxDepth) return false;
    switch (*p_) {
      case '{': {
        ++p_;
        out = json::object();
        auto& members = out.get_ref<json::object_t&>();
        std::string key;
        for (bool done = opened_empty('}'); !done;) {
          skip_space();
          if (p_ >= end_ || *p_ != '"') return false;
          ++p_;
          key.clear();
          if (!string(key)) return false;
          skip_space();
          if (p_ >= end_ || *p_ != ':') return false;
          ++p_;
          // The value is read in place. A repeated key keeps the last value,
          // as nlohmann's parser does: value() overwrites what is there.
          json& v = members.try_emplace(key).first->second;
          if (!value(v, depth + 1)) return false;
          if (!separator('}', done)) return false;
        }
        return true;
      }
      case '[': {
        ++p_;
        out = json::array();
        auto& items = out.get_ref<json::array_t&>();
        for (bool done = opened_empty(']'); !done;) {
          items.emplace_back();
          if (!value(items.back(), depth + 1)) return false;
          if (!separator(']', done)) return false;
        }
        return true;
      }
      case '"': {
        ++p_;
        out = json::value_t::string;
        return string(out.get_ref<std::string&>());
      }
      case 't':
        out = true;
        return literal("true", 4);
      case 'f':
        out = false;
        return literal("false", 5);
      case 'n':
        out = nullptr;
        return literal("null", 4);
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return number(out);
        return false;
    }
  }
};

}  // namespace

nlohmann::json read_tree_json(const char* text) {
  if (!text) return json(json::value_t::discarded);
  json out;
  if (Reader(text).read(out)) return out;
  // Not what libpg_query writes, or nested past kMaxDepth: the general parser
  // decides (and says discarded for what is not JSON).
  return json::parse(text, nullptr, false);
}

}  // namespace colshift::lint
