#include "lint/parse.h"

#include <pg_query.h>

#include <memory>

#include "lint/plpgsql.h"
#include "lint/source.h"

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
  json tree = json::parse(r.r.parse_tree, nullptr, false);
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
    json tree = json::parse(whole.r.parse_tree, nullptr, false);
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

}  // namespace

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

ParsedSql parse_sql(const std::string& text) {
  ParsedSql out;
  SourceText src(text);
  std::vector<Piece> pieces = split_pieces(text);
  size_t covered = 0;
  for (auto& piece : pieces) {
    size_t end = piece.end;
    piece.begin = std::max(covered, piece.begin);
    fill_statement(text, src, piece, out);
    covered = std::max(covered, end);
  }
  // Trailing comments after the last statement (an ignore-file at the end).
  if (covered < text.size()) {
    Piece rest{covered, 0, text.size(), nullptr, {}, 0};
    fill_statement(text, src, rest, out);
  }
  expand_plpgsql(text, src, out.statements);
  return out;
}

}  // namespace colshift::lint
