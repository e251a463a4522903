#include "lint/parse.h"

#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <regex>

#include "lint/linter.h"
#include "lint/plpgsql.h"
#include "lint/source.h"
#include "lint/tree_json.h"

static_assert(PG_VERSION_NUM / 10000 * 10000 == colshift::lint::kDefaultPgVersion,
              "kDefaultPgVersion must be the parser's major version");

namespace colshift::lint {
namespace {

using json = nlohmann::json;

struct ParseResult {
  PgQueryParseResult r;
  explicit ParseResult(const std::string& sql) : r(pg_query_parse(sql.c_str())) {}
  ~ParseResult() { pg_query_free_parse_result(r); }
  ParseResult(const ParseResult&) = delete;
  ParseResult& operator=(const ParseResult&) = delete;
};

struct SplitResult {
  PgQuerySplitResult r;
  explicit SplitResult(const std::string& sql) : r(pg_query_split_with_scanner(sql.c_str())) {}
  ~SplitResult() { pg_query_free_split_result(r); }
  SplitResult(const SplitResult&) = delete;
  SplitResult& operator=(const SplitResult&) = delete;
};

// A raw piece of the file: [begin, end) including leading comments.
struct Piece {
  size_t begin;
  size_t base;  // offset the parse tree's locations count from
  size_t end;
  json node;  // {"AlterTableStmt": {...}} or null
  std::string error;
  size_t error_offset = 0;  // absolute
};

// Moves the piece's parse tree into the statement.
void fill_statement(const std::string& text, const SourceText& src, Piece& piece, ParsedSql& out) {
  std::vector<Comment> comments;
  size_t start = skip_trivia(text, piece.begin, piece.end, &comments);
  while (start < piece.end && text[start] == ';') {
    start = skip_trivia(text, start + 1, piece.end, &comments);
  }
  std::vector<std::string> ignores;
  Position ignore_at;
  for (const auto& c : comments) {
    auto ids = parse_ignore_directive(c.body);
    if (!ids) continue;
    if (ids->size() == 1 && (*ids)[0] == "*file*") {
      out.ignore_file = true;
      continue;
    }
    ignores.insert(ignores.end(), ids->begin(), ids->end());
    ignore_at = src.position(c.offset);
  }
  size_t end = piece.end;
  while (end > start &&
         (std::isspace(static_cast<unsigned char>(text[end - 1])) || text[end - 1] == ';')) {
    --end;
  }
  if (start >= end) {
    if (!ignores.empty()) out.dangling_ignores.push_back(ignore_at);
    return;
  }
  Statement st;
  st.offset = start;
  st.length = end - start;
  st.start = src.position(start);
  st.text = text.substr(start, end - start);
  st.ignores = std::move(ignores);
  st.ignore_at = ignore_at;
  if (!piece.error.empty()) {
    st.error = piece.error;
    st.error_at = src.position(std::max(piece.error_offset, start));
  } else if (piece.node.is_object() && !piece.node.empty() &&
             piece.node.begin().value().is_object()) {
    st.kind = piece.node.begin().key();
    st.tree = std::move(piece.node.begin().value());
    st.tree_base = piece.base;
  }
  out.statements.push_back(std::move(st));
}

// Parses [begin, end) on its own; used when the whole file does not parse.
Piece parse_piece(const std::string& text, size_t begin, size_t end) {
  Piece p{begin, begin, end, nullptr, {}, 0};
  std::string sql = text.substr(begin, end - begin);
  ParseResult r(sql);
  if (r.r.error) {
    p.error = r.r.error->message;
    size_t cursor = r.r.error->cursorpos > 0 ? static_cast<size_t>(r.r.error->cursorpos - 1) : 0;
    p.error_offset = begin + std::min(cursor, sql.size());
    return p;
  }
  json tree = read_tree_json(r.r.parse_tree);
  json* stmts = tree.is_object() && tree.contains("stmts") ? &tree["stmts"] : nullptr;
  if (stmts && stmts->is_array() && !stmts->empty() && (*stmts)[0].contains("stmt")) {
    p.node = std::move((*stmts)[0]["stmt"]);
  }
  return p;
}

std::vector<Piece> split_pieces(const std::string& text) {
  std::vector<Piece> pieces;
  ParseResult whole(text);
  if (!whole.r.error) {
    json tree = read_tree_json(whole.r.parse_tree);
    if (!tree.is_object() || !tree.contains("stmts")) return pieces;
    for (auto& s : tree["stmts"]) {
      size_t loc = s.value("stmt_location", 0);
      size_t len = s.value("stmt_len", 0);
      size_t end = len == 0 ? text.size() : std::min(text.size(), loc + len);
      json node = s.contains("stmt") ? std::move(s["stmt"]) : json();
      pieces.push_back({loc, 0, end, std::move(node), {}, 0});
    }
    return pieces;
  }
  SplitResult split(text);
  if (split.r.error) {
    // Even the scanner fails (an unterminated quote or comment): one piece.
    Piece p{0, 0, text.size(), nullptr, whole.r.error->message, 0};
    int cursor = whole.r.error->cursorpos;
    p.error_offset = cursor > 0 ? std::min(text.size(), static_cast<size_t>(cursor - 1)) : 0;
    pieces.push_back(std::move(p));
    return pieces;
  }
  for (int i = 0; i < split.r.n_stmts; ++i) {
    size_t loc = static_cast<size_t>(split.r.stmts[i]->stmt_location);
    size_t len = static_cast<size_t>(split.r.stmts[i]->stmt_len);
    size_t end = len == 0 ? text.size() : std::min(text.size(), loc + len);
    pieces.push_back(parse_piece(text, loc, end));
  }
  return pieces;
}

// Blanks out psql meta-command lines (a backslash first on a line, outside
// quotes, dollar quotes and comments) in `text`, keeping every offset.
std::vector<MetaCommand> blank_meta_commands(std::string& text, const SourceText& src) {
  std::vector<MetaCommand> out;
  size_t i = 0, n = text.size();
  bool line_start = true;
  while (i < n) {
    char c = text[i];
    if (c == '\n') {
      line_start = true;
      ++i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '\\' && line_start) {
      size_t end = text.find('\n', i);
      if (end == std::string::npos) end = n;
      size_t stop = end > i && text[end - 1] == '\r' ? end - 1 : end;
      out.push_back({src.position(i), text.substr(i, stop - i)});
      std::fill(text.begin() + static_cast<long>(i), text.begin() + static_cast<long>(stop), ' ');
      i = end;
      continue;
    }
    line_start = false;
    if (c == '-' && i + 1 < n && text[i + 1] == '-') {
      i = text.find('\n', i);
      if (i == std::string::npos) i = n;
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      int depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] == '/' && i + 1 < n && text[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (text[i] == '*' && i + 1 < n && text[i + 1] == '/') {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      }
    } else if (c == '\'' || c == '"') {
      bool escapes = c == '\'' && i > 0 && (text[i - 1] == 'E' || text[i - 1] == 'e');
      ++i;
      while (i < n) {
        if (escapes && text[i] == '\\') {
          i += 2;
        } else if (text[i] == c) {
          if (i + 1 < n && text[i + 1] == c) {
            i += 2;
          } else {
            ++i;
            break;
          }
        } else {
          ++i;
        }
      }
    } else if (c == '$') {
      size_t j = i + 1;
      while (j < n && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
      if (j < n && text[j] == '$' &&
          !(i > 0 &&
            (std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '_'))) {
        std::string tag = text.substr(i, j + 1 - i);
        size_t close = text.find(tag, j + 1);
        i = close == std::string::npos ? n : close + tag.size();
      } else {
        i = j;
      }
    } else {
      ++i;
    }
  }
  return out;
}

}  // namespace

int parser_pg_version() { return PG_VERSION_NUM; }

std::string newer_syntax(const std::string& statement) {
  struct Form {
    std::regex re;
    const char* what;
  };
  static const auto icase = std::regex::icase | std::regex::ECMAScript;
  static const Form kForms[] = {
      {std::regex(R"(\bCONSTRAINT\s+\S+\s+NOT\s+NULL\s+[^\s,)])", icase),
       "PostgreSQL 18 syntax (CONSTRAINT name NOT NULL column)"},
      {std::regex(R"(\bNOT\s+ENFORCED\b)", icase), "PostgreSQL 18 syntax (NOT ENFORCED)"},
      {std::regex(R"(\bWITHOUT\s+OVERLAPS\b)", icase), "PostgreSQL 18 syntax (WITHOUT OVERLAPS)"},
      {std::regex(R"(\bGENERATED\s+ALWAYS\s+AS\s*\(.*\)\s*VIRTUAL\b)", icase),
       "PostgreSQL 18 syntax (VIRTUAL generated column)"},
      {std::regex(R"(\bSET\s+EXPRESSION\b)", icase), "PostgreSQL 17 syntax (SET EXPRESSION)"},
      {std::regex(R"(\bJSON_TABLE\s*\()", icase), "PostgreSQL 17 syntax (JSON_TABLE)"},
      {std::regex(R"(^\s*MERGE\b[\s\S]*\bRETURNING\b)", icase),
       "PostgreSQL 17 syntax (MERGE ... RETURNING)"},
      {std::regex(R"(\bWITH\s+(INHERIT|SET)\s+(TRUE|FALSE)\b)", icase),
       "PostgreSQL 16 syntax (GRANT ... WITH INHERIT/SET)"},
      {std::regex(R"(\bSTORAGE\s+DEFAULT\b)", icase), "PostgreSQL 16 syntax (STORAGE DEFAULT)"},
  };
  for (const auto& f : kForms) {
    if (std::regex_search(statement, f.re)) return f.what;
  }
  return {};
}

std::optional<std::vector<std::string>> parse_ignore_directive(const std::string& comment) {
  static const std::string kPrefix = "colshift:ignore";
  if (comment.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::string rest = comment.substr(kPrefix.size());
  if (rest.rfind("-file", 0) == 0) return std::vector<std::string>{"*file*"};
  if (!rest.empty() && !std::isspace(static_cast<unsigned char>(rest[0]))) return std::nullopt;
  std::vector<std::string> ids;
  std::string cur;
  for (char c : rest + ",") {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) ids.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return ids;
}

ParsedSql parse_sql(const std::string& original) {
  ParsedSql out;
  SourceText src(original);
  std::string blanked;
  if (original.find('\\') != std::string::npos) {
    blanked = original;
    out.meta_commands = blank_meta_commands(blanked, src);
  }
  const std::string& text = out.meta_commands.empty() ? original : blanked;
  std::vector<Piece> pieces = split_pieces(text);
  // The scanner's split leaves out statements it does not see starting (bare
  // words: `foo;`, `SELEC 1;`): text between two pieces, or after the last,
  // that is more than comments and semicolons is parsed on its own, so it
  // becomes a syntax error instead of vanishing.
  auto lost = [&](size_t from, size_t to) {
    size_t at = skip_trivia(text, from, to);
    while (at < to && text[at] == ';') at = skip_trivia(text, at + 1, to);
    return at < to;
  };
  size_t covered = 0;
  for (auto& piece : pieces) {
    size_t end = piece.end;
    if (piece.begin > covered && lost(covered, piece.begin)) {
      Piece gap = parse_piece(text, covered, piece.begin);
      gap.begin = covered;
      fill_statement(text, src, gap, out);
      covered = piece.begin;
    }
    piece.begin = std::max(covered, piece.begin);
    fill_statement(text, src, piece, out);
    covered = std::max(covered, end);
  }
  // Trailing comments after the last statement (an ignore-file at the end),
  // or a statement the split left out.
  if (covered < text.size()) {
    Piece rest = lost(covered, text.size()) ? parse_piece(text, covered, text.size())
                                            : Piece{covered, 0, text.size(), nullptr, {}, 0};
    fill_statement(text, src, rest, out);
  }
  expand_plpgsql(text, src, out.statements);
  return out;
}

}  // namespace colshift::lint
