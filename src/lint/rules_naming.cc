// Names: length limit, reserved words, names that need quoting, unclear names.
#include <fmt/format.h>

#include <set>

#include "lint/rule_helpers.h"

namespace colshift::lint {

using ast::json;

namespace {

// PostgreSQL's reserved key words (Appendix C, "reserved" in PostgreSQL).
const std::set<std::string>& reserved_words() {
  static const std::set<std::string> s = {"all",          "analyse",
                                          "analyze",      "and",
                                          "any",          "array",
                                          "as",           "asc",
                                          "asymmetric",   "both",
                                          "case",         "cast",
                                          "check",        "collate",
                                          "column",       "constraint",
                                          "create",       "current_catalog",
                                          "current_date", "current_role",
                                          "current_time", "current_timestamp",
                                          "current_user", "default",
                                          "deferrable",   "desc",
                                          "distinct",     "do",
                                          "else",         "end",
                                          "except",       "false",
                                          "fetch",        "for",
                                          "foreign",      "from",
                                          "grant",        "group",
                                          "having",       "in",
                                          "initially",    "intersect",
                                          "into",         "lateral",
                                          "leading",      "limit",
                                          "localtime",    "localtimestamp",
                                          "not",          "null",
                                          "offset",       "on",
                                          "only",         "or",
                                          "order",        "placing",
                                          "primary",      "references",
                                          "returning",    "select",
                                          "session_user", "some",
                                          "symmetric",    "table",
                                          "then",         "to",
                                          "trailing",     "true",
                                          "union",        "unique",
                                          "user",         "using",
                                          "variadic",     "when",
                                          "where",        "window",
                                          "with"};
  return s;
}

const std::set<std::string>& unclear_words() {
  static const std::set<std::string> s = {"data",  "info", "value", "values", "flag",
                                          "temp",  "tmp",  "misc",  "stuff",  "thing",
                                          "field", "col",  "foo",   "bar"};
  return s;
}

bool needs_quotes(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return true;
  for (unsigned char c : name) {
    if (!(std::islower(c) || std::isdigit(c) || c == '_' || c == '$' || c >= 0x80)) return true;
  }
  return false;
}

// `better`: a suggested name for the recipe ("" for the rule's own).
void check_name(RuleContext& ctx, const std::string& name, const char* what, int loc = -1,
                const std::string& better = {}) {
  if (name.empty()) return;
  if (reserved_words().count(name)) {
    ctx.report("reserved-identifier",
               fmt::format("The {} name \"{}\" is a reserved word: every query must quote it.",
                           what, name),
               loc);
  } else if (needs_quotes(name)) {
    ctx.report("quoted-identifier",
               fmt::format("The {} name \"{}\" must be double-quoted in every query (upper case or "
                           "special characters).",
                           what, name),
               loc);
  }
  if (unclear_words().count(name) || (name.size() == 1 && std::string(what) != "column")) {
    if (!better.empty()) {
      ctx.report("unclear-name",
                 fmt::format("The {} name \"{}\" does not say which table and columns it covers.",
                             what, name),
                 loc, fmt::format("Name it after them, e.g. {}.", better));
    } else {
      ctx.report("unclear-name",
                 fmt::format("The {} name \"{}\" does not say what it holds.", what, name), loc);
    }
  }
}

// Identifiers longer than 63 bytes, found in the text: the parser has
// already truncated them in the tree. Skips strings, dollar quotes, comments.
void check_long_identifiers(RuleContext& ctx) {
  const std::string& s = ctx.st().text;
  size_t i = 0;
  auto report = [&](size_t begin, size_t len) {
    int loc = static_cast<int>(ctx.st().offset + begin - ctx.st().tree_base);
    ctx.report(
        "identifier-too-long",
        fmt::format("The identifier \"{}...\" is {} bytes; PostgreSQL silently truncates it to "
                    "63, so later references by the full name fail or hit another object.",
                    s.substr(begin, 20), len),
        loc);
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == '\'') {
      size_t j = i + 1;
      while (j < s.size() && !(s[j] == '\'' && (j + 1 >= s.size() || s[j + 1] != '\'')))
        j += s[j] == '\'' ? 2 : 1;
      i = j + 1;
    } else if (c == '"') {
      size_t j = s.find('"', i + 1);
      if (j == std::string::npos) j = s.size();
      if (j - i - 1 > 63) report(i, j - i - 1);
      i = j + 1;
    } else if (c == '$') {
      size_t tag_end = s.find('$', i + 1);
      if (tag_end == std::string::npos) break;
      std::string tag = s.substr(i, tag_end - i + 1);
      size_t close = s.find(tag, tag_end + 1);
      i = close == std::string::npos ? s.size() : close + tag.size();
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      size_t nl = s.find('\n', i);
      i = nl == std::string::npos ? s.size() : nl;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() &&
             (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '$'))
        ++j;
      if (j - i > 63) report(i, j - i);
      i = j;
    } else {
      ++i;
    }
  }
}

void check(RuleContext& ctx) {
  const auto& st = ctx.st();
  const json& t = st.tree;
  // A DROP names objects that exist: their names were truncated the same way
  // when they were created, so the long name still finds them.
  if (st.error.empty() && st.kind != "DropStmt") check_long_identifiers(ctx);
  if (st.kind == "CreateStmt") {
    const json& rv = ast::obj(t, "relation");
    check_name(ctx, ast::str(rv, "relname"), "table", ast::location(rv));
    for (const auto& elt : ast::arr(t, "tableElts")) {
      if (const json* con = ast::find(elt, "Constraint")) {
        check_name(ctx, ast::str(*con, "conname"), "constraint", ast::location(*con));
      }
    }
  }
  for_each_column_def(ctx, [&](const json& cd, const std::string&, bool) {
    check_name(ctx, ast::str(cd, "colname"), "column", ast::location(cd));
  });
  for_each_alter(ctx, [&](const AlterCmd& c) {
    if (c.subtype == "AT_AddConstraint") {
      const json& con = ast::obj(c.def, "Constraint");
      check_name(ctx, ast::str(con, "conname"), "constraint", ast::location(con));
    }
  });
  if (st.kind == "IndexStmt") {
    std::string better = ast::str(ast::obj(t, "relation"), "relname");
    for (const auto& p : ast::arr(t, "indexParams")) {
      std::string col = ast::str(ast::obj(p, "IndexElem"), "name");
      if (!col.empty()) better += "_" + col;
    }
    better += ast::flag(t, "unique") ? "_key" : "_idx";
    check_name(ctx, ast::str(t, "idxname"), "index", -1, better);
  }
  if (st.kind == "RenameStmt") check_name(ctx, ast::str(t, "newname"), "new");
}

}  // namespace

const RuleFamily& naming_rules() {
  static const RuleFamily family{
      "naming",
      {
          {"identifier-too-long", Severity::kWarning,
           "An identifier longer than 63 bytes is silently truncated.",
           "NAMEDATALEN is 64: PostgreSQL keeps the first 63 bytes with only a NOTICE. Later "
           "statements "
           "that use the full name then miss the object, or two long names collide.",
           "Use names of at most 63 bytes.",
           "CREATE INDEX CONCURRENTLY "
           "index_on_the_users_table_by_email_address_and_creation_time_for_lookup ON users "
           "(email, created_at);",
           "CREATE INDEX CONCURRENTLY users_email_created_at_idx ON users (email, created_at);",
           "squawk: identifier-too-long"},
          {"reserved-identifier", Severity::kInfo,
           "A name that is a reserved word must always be quoted.",
           "Reserved words such as user, order or group can only be used as names in double "
           "quotes, in "
           "every query, by every client, forever.",
           "Choose another name (app_user, sort_order).", "CREATE TABLE t (\"order\" int);",
           "CREATE TABLE t (sort_order int);", ""},
          {"quoted-identifier", Severity::kInfo,
           "A name with upper case or special characters must always be quoted.",
           "Unquoted names fold to lower case, so \"UserId\" must be quoted exactly in every "
           "query.",
           "Use lower_snake_case names.", "CREATE TABLE \"Users\" (\"UserId\" bigint);",
           "CREATE TABLE users (user_id bigint);", ""},
          {"unclear-name", Severity::kInfo, "A name that does not say what it holds.",
           "Names like data, value or tmp make the schema hard to read and to grep.",
           "Name the content: payload_json, retry_count.", "ALTER TABLE t ADD COLUMN data jsonb;",
           "ALTER TABLE t ADD COLUMN webhook_payload jsonb;", ""},
      },
      check};
  return family;
}

}  // namespace colshift::lint
