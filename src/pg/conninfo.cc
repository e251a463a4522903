// Connection strings: checking them without connecting, and hiding their
// passwords in everything colshift prints (pg_connection.h).
//
// Redaction follows libpq's own grammar for both forms, and errs towards
// hiding more: a password with an unencoded '@', '/' or '?' in a URL, or an
// unquoted space in a keyword string, is hidden whole, although libpq would
// read it differently. The result is then checked with PQconninfoParse.
#include <fmt/format.h>

#include <cctype>
#include <memory>

#include "pg/libpq.h"
#include "pg/pg_connection.h"
#include "util/text.h"

namespace colshift::pg {
namespace {

constexpr const char* kHidden = "****";

struct ConninfoDeleter {
  void operator()(PQconninfoOption* o) const { libpq().PQconninfoFree(o); }
};
using ConninfoPtr = std::unique_ptr<PQconninfoOption, ConninfoDeleter>;

// libpq's parse of `conninfo`; null (and `error` set) when it does not parse.
ConninfoPtr parse(const std::string& conninfo, std::string& error) {
  char* err = nullptr;
  ConninfoPtr opts(libpq().PQconninfoParse(conninfo.c_str(), &err));
  if (err) {
    error = trim(err);
    libpq().PQfreemem(err);
  }
  return opts;
}

// The value libpq parsed for `keyword`, or nullopt.
std::optional<std::string> parsed_value(const PQconninfoOption* opts, const char* keyword) {
  for (const PQconninfoOption* o = opts; o && o->keyword; ++o) {
    if (std::string(o->keyword) == keyword && o->val) return std::string(o->val);
  }
  return std::nullopt;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The text with passwords replaced, and the raw text of each password
// (for scrubbing messages that quote a fragment of one).
struct Redacted {
  std::string text;
  std::vector<std::string> secrets;
};

// postgresql://user:password@host/db?password=...
Redacted redact_url(std::string s, size_t scheme_end) {
  Redacted r;
  // The user info runs to the last '@': libpq stops at the first, but a
  // password with an unencoded '@', '/' or '?' must not show in part.
  size_t at = s.rfind('@');
  size_t query_from = scheme_end;
  if (at != std::string::npos && at >= scheme_end) {
    size_t colon = s.find(':', scheme_end);
    if (colon < at) {
      r.secrets.push_back(s.substr(colon + 1, at - colon - 1));
      s.replace(colon + 1, at - colon - 1, kHidden);
      at = colon + 1 + std::string(kHidden).size();
    }
    query_from = at;
  }
  // Query parameters: a key may be percent-encoded; a value runs on over
  // '&'-pieces without '=' (libpq would reject them, quoting them).
  size_t q = s.find('?', query_from);
  for (size_t b = q == std::string::npos ? s.size() : q + 1; b < s.size();) {
    size_t e = s.find('&', b);
    if (e == std::string::npos) e = s.size();
    size_t eq = s.find('=', b);
    if (eq < e && to_lower(percent_decode(s.substr(b, eq - b))) == "password") {
      while (e < s.size()) {
        size_t next = s.find('&', e + 1);
        if (next == std::string::npos) next = s.size();
        if (s.substr(e + 1, next - e - 1).find('=') != std::string::npos) break;
        e = next;
      }
      r.secrets.push_back(s.substr(eq + 1, e - eq - 1));
      s.replace(eq + 1, e - eq - 1, kHidden);
      e = eq + 1 + std::string(kHidden).size();
    }
    b = e + 1;
  }
  r.text = std::move(s);
  return r;
}

// Moves `i` past one keyword-string value: 'quoted' (with \ escapes) or up
// to the next space (with \ escapes), as libpq's conninfo_parse reads it.
void skip_value(const std::string& s, size_t& i) {
  const bool quoted = i < s.size() && s[i] == '\'';
  if (quoted) ++i;
  while (i < s.size()) {
    if (s[i] == '\\') {
      i += 2;
    } else if (quoted && s[i] == '\'') {
      ++i;
      break;
    } else if (!quoted && is_space(s[i])) {
      break;
    } else {
      ++i;
    }
  }
  i = std::min(i, s.size());
}

// host=db password = 'a b' dbname=x (keywords in any case)
Redacted redact_keywords(const std::string& s) {
  Redacted r;
  size_t i = 0;
  while (i < s.size()) {
    size_t b = i;
    while (i < s.size() && is_space(s[i])) ++i;
    while (i < s.size() && !is_space(s[i]) && s[i] != '=') ++i;
    const bool password = to_lower(trim(s.substr(b, i - b))) == "password";
    while (i < s.size() && is_space(s[i])) ++i;
    if (i < s.size() && s[i] == '=') {
      ++i;
      while (i < s.size() && is_space(s[i])) ++i;
    } else if (!password) {
      r.text += s.substr(b, i - b);  // malformed: libpq says so; nothing to hide
      continue;
    }
    r.text += s.substr(b, i - b);
    size_t v = i;
    skip_value(s, i);
    if (password) {
      // An unquoted password with a space: libpq reads the rest as the next
      // keyword; hide every following word that is not itself "key=".
      for (;;) {
        size_t w = i;
        while (w < s.size() && is_space(s[w])) ++w;
        if (w == i || w >= s.size()) break;
        size_t end = w;
        skip_value(s, end);
        size_t after = end;
        while (after < s.size() && is_space(s[after])) ++after;
        if (s.substr(w, end - w).find('=') != std::string::npos ||
            (after < s.size() && s[after] == '='))
          break;
        i = end;
      }
      r.secrets.push_back(s.substr(v, i - v));
      r.text += kHidden;
    } else {
      r.text += s.substr(v, i - v);
    }
  }
  return r;
}

Redacted redact(const std::string& conninfo) {
  for (const char* scheme : {"postgresql://", "postgres://"}) {
    std::string_view p(scheme);
    if (conninfo.size() >= p.size() && to_lower(conninfo.substr(0, p.size())) == p) {
      return redact_url(conninfo, p.size());
    }
  }
  return redact_keywords(conninfo);
}

// The parts of a secret a misparse can quote on its own ("w0rd@host").
std::vector<std::string> pieces(const std::vector<std::string>& secrets) {
  std::vector<std::string> out;
  for (const auto& secret : secrets) {
    std::string piece;
    for (char c : secret + " ") {
      if (is_space(c) || std::string_view("@/:?&#,'\"").find(c) != std::string_view::npos) {
        if (piece.size() >= 2) out.push_back(piece);
        piece.clear();
      } else {
        piece += c;
      }
    }
  }
  return out;
}

}  // namespace

std::string redact_conninfo(const std::string& conninfo) {
  Redacted r = redact(conninfo);
  // Belt and braces: what libpq reads from the redacted text must hold no
  // password but ours.
  std::string error;
  auto opts = parse(r.text, error);
  auto pw = opts ? parsed_value(opts.get(), "password") : std::nullopt;
  if (pw && *pw != kHidden) return "(connection string not shown: it holds a password)";
  return r.text;
}

std::string redact_message(const std::string& message, const std::string& conninfo) {
  const Redacted r = redact(conninfo);
  const auto parts = pieces(r.secrets);
  std::string out = message;
  // Every "quoted" or 'quoted' token that is part of a password, or holds a
  // piece of one.
  for (char quote : {'"', '\''}) {
    for (size_t open = out.find(quote); open != std::string::npos;) {
      size_t close = out.find(quote, open + 1);
      if (close == std::string::npos) break;
      std::string token = out.substr(open + 1, close - open - 1);
      bool secret = false;
      for (const auto& s : r.secrets)
        secret |= !token.empty() && s.find(token) != std::string::npos;
      for (const auto& p : parts) secret |= token.find(p) != std::string::npos;
      if (secret) {
        out.replace(open + 1, token.size(), kHidden);
        close = open + 1 + std::string(kHidden).size();
      }
      open = out.find(quote, close + 1);
    }
  }
  return out;
}

void check_conninfo(const std::string& conninfo) {
  if (conninfo.empty()) return;
  std::string err;
  auto opts = parse(conninfo, err);
  if (!opts) {
    std::string msg = err.empty() ? "cannot parse connection string" : err;
    throw Error(ErrorKind::kBadInput, "invalid database URL: " + redact_message(msg, conninfo),
                redact_conninfo(conninfo),
                "use postgresql://user@host:port/dbname or a keyword string like "
                "'host=localhost dbname=app'");
  }
  // libpq checks ports only when connecting; a typo there is bad input, not an outage.
  if (auto port = parsed_value(opts.get(), "port")) {
    bool ok = !port->empty();
    for (char c : *port) ok = ok && (std::isdigit(static_cast<unsigned char>(c)) || c == ',');
    if (!ok) {
      throw Error(
          ErrorKind::kBadInput,
          redact_message("invalid database URL: port '" + *port + "' is not a number", conninfo),
          redact_conninfo(conninfo), "write the port as digits, e.g. postgresql://app@db:5432/app");
    }
  }
}

}  // namespace colshift::pg
