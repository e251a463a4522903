// Loading and validating migration files (format: migration.h).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "migration/migration.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/text.h"
#include "util/utf8.h"

namespace colshift::migration {
namespace {

constexpr size_t kMaxIdentifierBytes = 63;  // PostgreSQL's NAMEDATALEN - 1

// Line `line` (0-based) of `text`, without its line break; empty past the end.
std::string_view line_of(std::string_view text, int line) {
  size_t start = 0;
  for (int l = 0; l < line; ++l) {
    start = text.find('\n', start);
    if (start == std::string_view::npos) return {};
    ++start;
  }
  std::string_view rest = text.substr(start);
  std::string_view out = rest.substr(0, rest.find('\n'));
  if (!out.empty() && out.back() == '\r') out.remove_suffix(1);
  return out;
}

std::string utf8(unsigned long cp) {
  std::string out;
  util::append_utf8(cp, out);
  return out;
}

// Decodes the YAML double-quoted escape at line[i] ('\\'); sets `len` to the
// bytes it spans, 0 when it is not one this reader maps (the caller then
// knows only the scalar's start).
std::string unescape(std::string_view line, size_t i, size_t& len) {
  len = 0;
  if (i + 1 >= line.size()) return {};
  static const std::vector<std::pair<char, unsigned long>> named = {
      {'0', 0},  {'a', 7},   {'b', 8},    {'t', 9},    {'\t', 9},     {'n', 10},
      {'v', 11}, {'f', 12},  {'r', 13},   {'e', 27},   {' ', 32},     {'"', 34},
      {'/', 47}, {'\\', 92}, {'N', 0x85}, {'_', 0xA0}, {'L', 0x2028}, {'P', 0x2029}};
  for (const auto& [c, cp] : named) {
    if (c == line[i + 1]) {
      len = 2;
      return utf8(cp);
    }
  }
  size_t digits = line[i + 1] == 'x' ? 2 : line[i + 1] == 'u' ? 4 : line[i + 1] == 'U' ? 8 : 0;
  if (digits == 0 || i + 2 + digits > line.size()) return {};
  std::string hex(line.substr(i + 2, digits));
  if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return {};
  len = 2 + digits;
  return utf8(std::stoul(hex, nullptr, 16));
}

// The file column (1-based) of each byte of a scalar's value when the scalar
// is plain or quoted and ends on the line where it starts; empty otherwise.
std::vector<int> scalar_columns(std::string_view text, const YAML::Mark& mark,
                                const std::string& value) {
  if (mark.line < 0 || mark.column < 0) return {};
  std::string_view line = line_of(text, mark.line);
  size_t i = static_cast<size_t>(mark.column);
  if (i >= line.size()) return {};
  std::vector<int> cols;
  std::string decoded;
  auto put = [&](const std::string& bytes, size_t at) {
    decoded += bytes;
    cols.insert(cols.end(), bytes.size(), static_cast<int>(at) + 1);
  };
  const char quote = line[i];
  if (quote != '\'' && quote != '"') {
    if (line.substr(i, value.size()) != value) return {};  // block or multi-line
    for (size_t k = 0; k < value.size(); ++k) cols.push_back(static_cast<int>(i + k) + 1);
    return cols;
  }
  for (size_t j = i + 1; j < line.size();) {
    if (line[j] == quote && quote == '\'' && j + 1 < line.size() && line[j + 1] == '\'') {
      put("'", j);
      j += 2;
    } else if (line[j] == quote) {
      return decoded == value ? cols : std::vector<int>{};
    } else if (line[j] == '\\' && quote == '"') {
      size_t len = 0;
      std::string bytes = unescape(line, j, len);
      if (len == 0) return {};
      put(bytes, j);
      j += len;
    } else {
      put(std::string(1, line[j]), j);
      ++j;
    }
  }
  return {};  // the closing quote is on a later line
}

// Reads YAML nodes and turns every problem into an Error pointing at the node.
class Reader {
 public:
  Reader(std::string_view text, std::string file) : text_(text), file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message,
                         const std::string& hint = {}) const {
    int line = mark.line >= 0 ? mark.line + 1 : 0;
    int col = mark.column >= 0 ? mark.column + 1 : 0;
    throw Error(ErrorKind::kBadInput, message, source_excerpt(text_, file_, line, col), hint);
  }

  // Checks that `node` is a mapping whose keys are all in `allowed`.
  void expect_keys(const YAML::Node& node, const std::string& what,
                   const std::vector<std::string>& allowed) const {
    if (!node.IsMap()) {
      fail(node.Mark(), fmt::format("{} must be a mapping of keys to values", what),
           fmt::format("valid keys: {}", join(allowed, ", ")));
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      std::string key = kv.first.Scalar();
      if (!seen.insert(key).second) {
        fail(kv.first.Mark(), fmt::format("duplicate key '{}' in {}", key, what));
      }
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string hint = fmt::format("valid keys: {}", join(allowed, ", "));
        if (auto near = closest(key, allowed)) hint += fmt::format("; did you mean '{}'?", *near);
        fail(kv.first.Mark(), fmt::format("unknown key '{}' in {}", key, what), hint);
      }
    }
  }

  std::string required_string(const YAML::Node& parent, const std::string& key,
                              const std::string& what) const {
    auto node = parent[key];
    if (!node) {
      fail(parent.Mark(), fmt::format("{} needs '{}'", what, key));
    }
    return string_value(node, fmt::format("'{}' in {}", key, what));
  }

  std::optional<std::string> optional_string(const YAML::Node& parent, const std::string& key,
                                             const std::string& what) const {
    auto node = parent[key];
    if (!node || node.IsNull()) return std::nullopt;
    return string_value(node, fmt::format("'{}' in {}", key, what));
  }

  std::string string_value(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar()) fail(node.Mark(), fmt::format("{} must be a string", what));
    std::string v = trim(node.Scalar());
    if (v.empty()) fail(node.Mark(), fmt::format("{} must not be empty", what));
    return v;
  }

  bool optional_bool(const YAML::Node& parent, const std::string& key, bool fallback,
                     const std::string& what) const {
    auto node = parent[key];
    if (!node || node.IsNull()) return fallback;
    bool out = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, out)) {
      fail(node.Mark(), fmt::format("'{}' in {} must be true or false", key, what));
    }
    return out;
  }

  std::string identifier(const YAML::Node& parent, const std::string& key,
                         const std::string& what) const {
    std::string v = required_string(parent, key, what);
    if (v.size() > kMaxIdentifierBytes) {
      fail(parent[key].Mark(),
           fmt::format("'{}' in {} is {} bytes; PostgreSQL truncates names to {} bytes", key, what,
                       v.size(), kMaxIdentifierBytes),
           "choose a shorter name");
    }
    return v;
  }

  TableName table_name(const YAML::Node& parent, const std::string& what) const {
    std::string v = required_string(parent, "table", what);
    TableName t;
    auto dot = v.find('.');
    if (dot == std::string::npos) {
      t.name = v;
    } else {
      t.schema = v.substr(0, dot);
      t.name = v.substr(dot + 1);
      if (t.schema.empty() || t.name.empty() || t.name.find('.') != std::string::npos) {
        fail(parent["table"].Mark(),
             fmt::format("'table' in {} must be 'table' or 'schema.table'", what));
      }
    }
    if (t.name.size() > kMaxIdentifierBytes || t.schema.size() > kMaxIdentifierBytes) {
      fail(parent["table"].Mark(),
           fmt::format("table name '{}' is longer than {} bytes", v, kMaxIdentifierBytes));
    }
    return t;
  }

  SourcePos pos(const YAML::Node& node) const {
    return SourcePos{file_, node.Mark().line + 1, node.Mark().column + 1, {}};
  }

  // Where the value `loaded` (string_value of `node`) is written, byte by byte
  // when the scalar is on one line.
  SourcePos value_pos(const YAML::Node& node, const std::string& loaded) const {
    SourcePos p = pos(node);
    const std::string& raw = node.Scalar();
    std::vector<int> cols = scalar_columns(text_, node.Mark(), raw);
    size_t lead = raw.find(loaded);  // string_value trims
    if (cols.size() == raw.size() && lead != std::string::npos && !loaded.empty()) {
      p.byte_columns.assign(cols.begin() + static_cast<long>(lead),
                            cols.begin() + static_cast<long>(lead + loaded.size()));
      p.column = p.byte_columns.front();
    }
    return p;
  }

  // An optional SQL expression; `where` is set to its position when present.
  std::optional<std::string> optional_expression(const YAML::Node& parent, const std::string& key,
                                                 const std::string& what, SourcePos& where) const {
    auto v = optional_string(parent, key, what);
    if (v) where = value_pos(parent[key], *v);
    return v;
  }

 private:
  std::string_view text_;
  std::string file_;
};

AddColumn read_add_column(const Reader& r, const YAML::Node& node) {
  const std::string what = "add_column";
  r.expect_keys(node, what, {"table", "column", "up"});
  AddColumn op;
  op.pos = r.pos(node);
  op.table = r.table_name(node, what);
  auto col = node["column"];
  if (!col) r.fail(node.Mark(), "add_column needs 'column'", "column: { name: ..., type: ... }");
  const std::string cwhat = "add_column.column";
  r.expect_keys(col, cwhat, {"name", "type", "nullable", "default", "check"});
  op.column.name = r.identifier(col, "name", cwhat);
  op.column.type = r.required_string(col, "type", cwhat);
  op.column.type_pos = r.value_pos(col["type"], op.column.type);
  op.column.nullable = r.optional_bool(col, "nullable", true, cwhat);
  op.column.default_expr = r.optional_expression(col, "default", cwhat, op.column.default_pos);
  op.column.check = r.optional_expression(col, "check", cwhat, op.column.check_pos);
  op.up = r.optional_expression(node, "up", what, op.up_pos);
  if (!op.column.nullable && !op.column.default_expr && !op.up) {
    r.fail(col["nullable"].Mark(),
           fmt::format("column '{}' is NOT NULL but has neither 'default' nor 'up'; existing rows "
                       "would have no value",
                       op.column.name),
           "add 'up: <expression>' to compute existing rows (for example up: 'lower(email)'), or "
           "a constant 'default', or make the column nullable");
  }
  return op;
}

CreateIndex read_create_index(const Reader& r, const YAML::Node& node) {
  const std::string what = "create_index";
  r.expect_keys(node, what, {"name", "table", "columns", "unique", "where", "method"});
  CreateIndex op;
  op.pos = r.pos(node);
  op.name = r.identifier(node, "name", what);
  op.table = r.table_name(node, what);
  auto cols = node["columns"];
  if (!cols) r.fail(node.Mark(), "create_index needs 'columns'", "columns: [col1, col2]");
  if (!cols.IsSequence() || cols.size() == 0) {
    r.fail(cols.Mark(), "'columns' in create_index must be a non-empty list",
           "columns: [col1, col2]");
  }
  for (const auto& c : cols) {
    op.columns.push_back(r.string_value(c, "a column in create_index"));
    op.column_pos.push_back(r.value_pos(c, op.columns.back()));
  }
  op.unique = r.optional_bool(node, "unique", false, what);
  op.where = r.optional_expression(node, "where", what, op.where_pos);
  if (auto m = r.optional_string(node, "method", what)) {
    static const std::vector<std::string> methods = {"btree", "hash",   "gist",
                                                     "gin",   "spgist", "brin"};
    std::string lower = to_lower(*m);
    if (std::find(methods.begin(), methods.end(), lower) == methods.end()) {
      r.fail(node["method"].Mark(), fmt::format("unknown index method '{}'", *m),
             fmt::format("valid methods: {}", join(methods, ", ")));
    }
    op.method = lower;
  }
  if (op.unique && op.method != "btree") {
    r.fail(node["unique"].Mark(), fmt::format("a unique index must use btree, not {}", op.method));
  }
  return op;
}

// raw_sql's `allow_hazards`: a list of hazard names (hazards.h).
std::vector<Hazard> read_allow_hazards(const Reader& r, const YAML::Node& node) {
  std::vector<Hazard> out;
  if (!node || node.IsNull()) return out;
  const std::vector<std::string> valid = hazard_names();
  const std::string valid_list = fmt::format("valid hazards: {}", join(valid, ", "));
  if (!node.IsSequence()) {
    r.fail(node.Mark(), "'allow_hazards' in raw_sql must be a list of hazard names",
           "allow_hazards: [rewrites_table]; " + valid_list);
  }
  for (const auto& item : node) {
    std::string name = r.string_value(item, "a hazard in allow_hazards");
    auto h = parse_hazard(name);
    if (!h) {
      std::string hint = valid_list;
      if (auto near = closest(name, valid)) hint += fmt::format("; did you mean '{}'?", *near);
      r.fail(item.Mark(), fmt::format("unknown hazard '{}' in allow_hazards", name), hint);
    }
    if (std::find(out.begin(), out.end(), *h) == out.end()) out.push_back(*h);
  }
  return out;
}

RawSql read_raw_sql(const Reader& r, const YAML::Node& node) {
  const std::string what = "raw_sql";
  r.expect_keys(node, what, {"up", "down", "phase", "allow_hazards"});
  RawSql op;
  op.pos = r.pos(node);
  op.up = r.required_string(node, "up", what);
  if (!node["down"]) {
    r.fail(node.Mark(), "raw_sql needs 'down': the SQL that undoes 'up'",
           "every operation must be reversible; write the inverse statements in 'down'");
  }
  op.down = r.required_string(node, "down", what);
  if (auto p = r.optional_string(node, "phase", what)) {
    if (*p == "expand") {
      op.phase = RawSqlPhase::kExpand;
    } else if (*p == "finish") {
      op.phase = RawSqlPhase::kFinish;
    } else if (*p == "complete") {
      op.phase = RawSqlPhase::kComplete;
    } else {
      r.fail(node["phase"].Mark(), fmt::format("unknown phase '{}' in raw_sql", *p),
             "valid phases: expand, finish, complete");
    }
  }
  op.allow_hazards = read_allow_hazards(r, node["allow_hazards"]);
  return op;
}

// A duration in a file: "500ms", "2s", "1m", "1h"; a bare number is seconds.
std::optional<std::chrono::milliseconds> file_duration(const std::string& text) {
  std::string t = trim(text);
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double v = 0;
  try {
    v = std::stod(t.substr(0, i));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string unit = trim(t.substr(i));
  double ms = 0;
  if (unit == "ms") {
    ms = v;
  } else if (unit.empty() || unit == "s") {
    ms = v * 1000;
  } else if (unit == "m" || unit == "min") {
    ms = v * 60'000;
  } else if (unit == "h") {
    ms = v * 3'600'000;
  } else {
    return std::nullopt;
  }
  if (ms > 1e10) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

guard::GuardSpec read_guard(const Reader& r, const YAML::Node& node, size_t index) {
  const std::vector<std::string> keys = {
      "name",         "sql",    "command",  "builtin", "max",          "min",       "max_ratio",
      "ignore_below", "policy", "interval", "timeout", "breach_after", "fail_after"};
  r.expect_keys(node, fmt::format("guard {}", index + 1), keys);
  guard::GuardSpec g;
  g.name = r.required_string(node, "name", fmt::format("guard {}", index + 1));
  const std::string what = fmt::format("guard '{}'", g.name);
  g.where = r.pos(node).location();
  int sources = 0;
  std::string first_source;
  for (const char* k : {"sql", "command", "builtin"}) {
    if (node[k]) {
      ++sources;
      if (sources > 1)
        r.fail(node[k].Mark(),
               fmt::format("{} has both '{}' and '{}': a guard reads one source", what,
                           first_source, k),
               "keep one of sql, command, builtin");
      first_source = k;
    }
  }
  if (sources == 0)
    r.fail(node.Mark(), fmt::format("{} needs a source: 'sql', 'command' or 'builtin'", what),
           "sql: a query returning one number; command: a program printing one number; "
           "builtin: one of " +
               join(guard::builtin_names(), ", "));
  if (auto s = r.optional_string(node, "sql", what)) g.sql = *s;
  if (auto c = node["command"]) {
    if (c.IsSequence()) {
      if (c.size() == 0) r.fail(c.Mark(), fmt::format("'command' in {} must not be empty", what));
      for (const auto& a : c) g.command.push_back(r.string_value(a, "an argument of 'command'"));
    } else {
      g.command = {"sh", "-c", r.string_value(c, fmt::format("'command' in {}", what))};
    }
  }
  if (auto b = r.optional_string(node, "builtin", what)) {
    auto parsed = guard::parse_builtin(*b);
    if (!parsed) {
      std::string hint = "valid built-ins: " + join(guard::builtin_names(), ", ");
      if (auto near = closest(*b, guard::builtin_names()))
        hint += fmt::format("; did you mean '{}'?", *near);
      r.fail(node["builtin"].Mark(), fmt::format("unknown builtin '{}' in {}", *b, what), hint);
    }
    g.builtin = *parsed;
  }
  auto number = [&](const char* key) -> std::optional<double> {
    auto n = node[key];
    if (!n || n.IsNull()) return std::nullopt;
    double v = 0;
    if (!n.IsScalar() || !guard::parse_number(n.Scalar(), v).empty())
      r.fail(n.Mark(), fmt::format("'{}' in {} must be a number", key, what));
    return v;
  };
  g.max = number("max");
  g.min = number("min");
  g.max_ratio = number("max_ratio");
  g.ignore_below = number("ignore_below").value_or(0);
  if (!g.max && !g.min && !g.max_ratio)
    r.fail(node.Mark(), fmt::format("{} needs a threshold: 'max', 'min' or 'max_ratio'", what),
           "max: trips above it; min: trips below it; max_ratio: trips above that many times "
           "its baseline (sampled before expand)");
  if (g.max_ratio && *g.max_ratio <= 0)
    r.fail(node["max_ratio"].Mark(), fmt::format("'max_ratio' in {} must be more than 0", what));
  if (auto p = r.optional_string(node, "policy", what)) {
    auto parsed = guard::parse_policy(*p);
    if (!parsed)
      r.fail(node["policy"].Mark(), fmt::format("unknown policy '{}' in {}", *p, what),
             "valid policies: pause (the backfill waits while it is tripped), rollback (colshift "
             "rolls the migration back), warn (recorded only)");
    g.policy = *parsed;
  }
  auto duration = [&](const char* key, std::chrono::milliseconds& out) {
    if (auto t = r.optional_string(node, key, what)) {
      auto d = file_duration(*t);
      if (!d || d->count() <= 0)
        r.fail(node[key].Mark(), fmt::format("'{}' in {} is not a duration: '{}'", key, what, *t),
               "write a number with a unit, more than 0: 500ms, 2s, 1m (a bare number is "
               "seconds)");
      out = *d;
    }
  };
  duration("interval", g.interval);
  duration("timeout", g.timeout);
  auto count = [&](const char* key, int& out) {
    auto n = node[key];
    if (!n || n.IsNull()) return;
    int v = 0;
    if (!n.IsScalar() || !YAML::convert<int>::decode(n, v) || v < 1)
      r.fail(n.Mark(), fmt::format("'{}' in {} must be a whole number, 1 or more", key, what));
    out = v;
  };
  count("breach_after", g.breach_after);
  count("fail_after", g.fail_after);
  return g;
}

std::vector<guard::GuardSpec> read_guards(const Reader& r, const YAML::Node& node) {
  std::vector<guard::GuardSpec> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence())
    r.fail(node.Mark(), "'guards' must be a list",
           "guards:\n    - name: app_errors\n      sql: SELECT count(*) FROM app_errors WHERE at > "
           "now() - interval '1 minute'\n      max: 5\n      policy: rollback");
  std::set<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    auto g = read_guard(r, node[i], i);
    if (!names.insert(g.name).second)
      r.fail(node[i]["name"].Mark(), fmt::format("duplicate guard name '{}'", g.name),
             "guard names are unique in a file: status, history and events name them");
    out.push_back(std::move(g));
  }
  return out;
}

// Two operations that would create the same object are a mistake in the file.
void check_duplicates(const Reader& r, const YAML::Node& ops_node, const Migration& m) {
  std::set<std::string> seen;
  for (size_t i = 0; i < m.operations.size(); ++i) {
    std::string key;
    if (auto* a = std::get_if<AddColumn>(&m.operations[i])) {
      key = "column " + a->table.display() + "." + a->column.name;
    } else if (auto* c = std::get_if<CreateIndex>(&m.operations[i])) {
      key = "index " + c->name;
    } else {
      continue;
    }
    if (!seen.insert(key).second) {
      r.fail(ops_node[i].Mark(), fmt::format("{} is created twice in this migration", key),
             "remove one of the two operations");
    }
  }
}

}  // namespace

void add_flag_guards(Migration& m, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string where = fmt::format("--guard #{}", i + 1);
    Reader r(values[i], where);
    YAML::Node node;
    try {
      node = YAML::Load(values[i]);
    } catch (const YAML::ParserException& e) {
      r.fail(e.mark, "not valid YAML: " + e.msg,
             "write one mapping, as a guards: item: --guard '{name: errors, sql: \"SELECT "
             "count(*) FROM app_errors\", max: 5, policy: rollback}'");
    }
    if (!node.IsMap()) {
      r.fail(node.Mark(), "a --guard is one YAML mapping",
             "--guard '{name: lag, builtin: replica_lag, max: 30, policy: pause}'");
    }
    auto g = read_guard(r, node, m.guards.size());
    for (const auto& other : m.guards) {
      if (other.name == g.name) {
        r.fail(node["name"].Mark(), fmt::format("duplicate guard name '{}'", g.name),
               "the migration file or another --guard already has a guard of this name");
      }
    }
    m.guards.push_back(std::move(g));
  }
}

Migration parse_migration(std::string_view text, const std::string& file) {
  Reader r(text, file);
  if (size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    std::string_view before = text.substr(0, bad);
    int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    size_t nl = before.rfind('\n');
    int col = 1 + static_cast<int>(nl == std::string_view::npos ? bad : bad - nl - 1);
    throw Error(ErrorKind::kBadInput,
                fmt::format("migration file is not valid UTF-8 (byte 0x{:02X})",
                            static_cast<unsigned char>(text[bad])),
                source_excerpt(text, file, line, col),
                "save the file as UTF-8; its SQL, names and purpose are stored and shown as UTF-8");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    r.fail(e.mark, "not valid YAML: " + e.msg,
           "check indentation and quoting; SQL with ':' or '#' needs quotes");
  }
  if (!root || root.IsNull()) {
    throw Error(
        ErrorKind::kBadInput, "migration file is empty", file,
        "a migration needs 'purpose' and 'operations'; 'colshift new NAME' writes a skeleton");
  }
  r.expect_keys(root, "the migration",
                {"name", "purpose", "undeclared_writers", "subscribers", "guards", "operations"});
  Migration m;
  m.file = file;
  m.source = std::string(text);
  m.name = std::filesystem::path(file).stem().string();
  if (auto n = r.optional_string(root, "name", "the migration")) m.name = *n;
  if (!root["purpose"]) {
    r.fail(root.Mark(), "the migration needs 'purpose': why this change exists",
           "purpose goes into the history table and the generated docs");
  }
  m.purpose = r.required_string(root, "purpose", "the migration");
  if (auto u = r.optional_string(root, "undeclared_writers", "the migration")) {
    if (*u != "guess" && *u != "old") {
      r.fail(root["undeclared_writers"].Mark(),
             fmt::format("unknown value '{}' for undeclared_writers", *u),
             "guess (default: never overwrite a value a writer set) or old (every session that "
             "declares no app version is the old version)");
    }
    m.undeclared_writers_old = *u == "old";
  }
  if (auto subs = root["subscribers"]; subs && !subs.IsNull()) {
    if (!subs.IsSequence()) {
      r.fail(subs.Mark(), "'subscribers' must be a list",
             "subscribers: [REPLICA_URL]: environment variable names (their value is the "
             "connection string) or connection URLs");
    }
    for (const auto& item : subs) m.subscribers.push_back(r.string_value(item, "a subscriber"));
  }
  m.guards = read_guards(r, root["guards"]);
  auto ops = root["operations"];
  if (!ops)
    r.fail(root.Mark(), "the migration needs 'operations'",
           "a list of add_column, create_index, raw_sql");
  if (!ops.IsSequence() || ops.size() == 0) {
    r.fail(ops.Mark(), "'operations' must be a non-empty list",
           "operations:\n    - add_column: {...}");
  }
  for (const auto& item : ops) {
    if (!item.IsMap() || item.size() != 1) {
      r.fail(item.Mark(), "each operation must be a mapping with exactly one key",
             "valid operations: add_column, create_index, raw_sql");
    }
    auto kv = *item.begin();
    std::string kind = kv.first.Scalar();
    if (kind == "add_column") {
      m.operations.emplace_back(read_add_column(r, kv.second));
    } else if (kind == "create_index") {
      m.operations.emplace_back(read_create_index(r, kv.second));
    } else if (kind == "raw_sql") {
      m.operations.emplace_back(read_raw_sql(r, kv.second));
    } else {
      std::vector<std::string> valid = {"add_column", "create_index", "raw_sql"};
      std::string hint = "valid operations: add_column, create_index, raw_sql";
      if (auto near = closest(kind, valid)) hint += fmt::format("; did you mean '{}'?", *near);
      r.fail(kv.first.Mark(), fmt::format("unknown operation '{}'", kind), hint);
    }
  }
  check_duplicates(r, ops, m);
  m.checksum = sha256_hex(text);
  return m;
}

Migration load_migration_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::kBadInput, "cannot read migration file", path,
                std::filesystem::exists(path) ? "check its permissions"
                                              : "no such file; 'colshift new NAME' writes one");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_migration(ss.str(), path);
}

SourcePos SourcePos::at(size_t offset) const {
  SourcePos p{file, line, column, {}};
  if (offset < byte_columns.size()) p.column = byte_columns[offset];
  return p;
}

std::string SourcePos::location() const { return fmt::format("{}:{}:{}", file, line, column); }

std::string excerpt(const Migration& m, const SourcePos& pos) {
  if (m.source.empty()) return pos.location();
  return source_excerpt(m.source, pos.file, pos.line, pos.column);
}

std::string_view operation_kind(const Operation& op) {
  switch (op.index()) {
    case 0:
      return "add_column";
    case 1:
      return "create_index";
    default:
      return "raw_sql";
  }
}

const SourcePos& operation_pos(const Operation& op) {
  return std::visit([](const auto& o) -> const SourcePos& { return o.pos; }, op);
}

std::vector<std::string> list_migration_files(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) {
    throw Error(ErrorKind::kBadInput, "migrations directory not found", dir,
                "pass the directory that holds the migration files");
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    auto ext = e.path().extension().string();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
    return fs::path(a).filename().string() < fs::path(b).filename().string();
  });
  return files;
}

std::string sha256_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : sha256(bytes)) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace colshift::migration
