#include "lint/runner.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string_view>

namespace colshift::lint {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The comment lines' bodies that matter here, lowercased with spaces squeezed.
struct Markers {
  bool no_transaction = false;
  bool dbmate = false;
  bool goose = false;
};

Markers read_markers(std::string_view text) {
  Markers m;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string_view::npos || line.substr(b, 2) != "--") continue;
    std::string body;
    for (char c : line.substr(b + 2)) {
      unsigned char u = static_cast<unsigned char>(c);
      if (std::isspace(u)) {
        if (!body.empty() && body.back() != ' ') body += ' ';
      } else {
        body += static_cast<char>(std::tolower(u));
      }
    }
    while (!body.empty() && body.back() == ' ') body.pop_back();
    if (body == "no-transaction" || body == "+goose no transaction") m.no_transaction = true;
    if (body.rfind("migrate:up", 0) == 0 || body.rfind("migrate:down", 0) == 0) {
      m.dbmate = true;
      if (body.find("transaction:false") != std::string::npos) m.no_transaction = true;
    }
    if (body.rfind("+goose up", 0) == 0 || body.rfind("+goose down", 0) == 0) m.goose = true;
  }
  return m;
}

bool digits_then(std::string_view name, size_t from, char sep) {
  size_t i = from;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
  return i > from && i < name.size() && name[i] == sep;
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// Flyway: V1__x.sql, V1_2__x.sql, U1__x.sql (undo).
bool flyway_name(std::string_view name, char prefix) {
  if (name.empty() || name[0] != prefix) return false;
  size_t sep = name.find("__");
  if (sep == std::string_view::npos || sep < 2) return false;
  for (size_t i = 1; i < sep; ++i) {
    char c = name[i];
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::optional<TransactionMode> parse_transaction_mode(const std::string& text) {
  std::string t = lower(text);
  if (t == "auto") return TransactionMode::kAuto;
  if (t == "none" || t == "psql") return TransactionMode::kNone;
  static const char* kPerFile[] = {"per-file", "diesel", "sqlx",   "golang-migrate", "flyway",
                                   "pop",      "popx",   "prisma", "dbmate",         "goose"};
  for (const char* p : kPerFile) {
    if (t == p) return TransactionMode::kPerFile;
  }
  return std::nullopt;
}

const char* transaction_mode_words() {
  return "auto, none, per-file, or a runner: diesel, sqlx, golang-migrate, flyway, pop, prisma, "
         "dbmate, goose (per-file), psql (none)";
}

std::optional<DownMode> parse_down_mode(const std::string& text) {
  std::string t = lower(text);
  if (t == "info") return DownMode::kInfo;
  if (t == "lint") return DownMode::kLint;
  if (t == "skip") return DownMode::kSkip;
  return std::nullopt;
}

RunContext run_context(const std::string& path, const std::string& text, TransactionMode mode) {
  RunContext ctx;
  fs::path p(path);
  std::string name = p.filename().string();
  std::string lname = lower(name);
  bool diesel = false;
  if (lname == "up.sql" || lname == "down.sql") {
    std::error_code ec;
    fs::path dir = p.parent_path();
    diesel = fs::exists(dir / "up.sql", ec) && fs::exists(dir / "down.sql", ec);
  }
  bool up_down =
      digits_then(lname, 0, '_') && (ends_with(lname, ".up.sql") || ends_with(lname, ".down.sql"));
  bool flyway = flyway_name(name, 'V') || flyway_name(name, 'U');
  bool prisma =
      lname == "migration.sql" && p.parent_path().parent_path().filename() == "migrations";
  ctx.down = lname == "down.sql" || ends_with(lname, ".down.sql") || flyway_name(name, 'U');
  Markers m = read_markers(text);
  if (m.no_transaction || lname.find(".autocommit.") != std::string::npos) {
    ctx.why = "no-transaction marker";
    return ctx;
  }
  if (mode == TransactionMode::kNone) {
    ctx.why = "setting: none";
    return ctx;
  }
  if (mode == TransactionMode::kPerFile) {
    ctx.in_transaction = true;
    ctx.why = "setting: per-file";
    return ctx;
  }
  const char* layout = diesel     ? "diesel layout"
                       : up_down  ? "golang-migrate/sqlx layout"
                       : flyway   ? "Flyway layout"
                       : prisma   ? "Prisma layout"
                       : m.dbmate ? "dbmate markers"
                       : m.goose  ? "goose markers"
                                  : nullptr;
  ctx.in_transaction = layout != nullptr;
  ctx.one_statement_autocommits = up_down && !diesel;
  ctx.why = layout ? layout : "no runner recognised";
  return ctx;
}

}  // namespace colshift::lint
