// Positions in a source text: byte offsets to line:column, the text of a
// line (for carets), and skipping whitespace and comments between statements.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lint/types.h"

namespace colshift::lint {

class SourceText {
 public:
  explicit SourceText(std::string_view text);
  // Position of byte `offset` (clamped to the end of the text).
  Position position(size_t offset) const;
  // The byte offset of 1-based `line`:`column` (clamped to the text).
  size_t offset_of(int line, int column) const;
  // Line `line` (1-based) without its newline; empty when out of range.
  std::string_view line_text(int line) const;

 private:
  std::string_view text_;
  std::vector<size_t> line_starts_;
};

// A comment found between statements.
struct Comment {
  size_t offset = 0;
  std::string body;  // without the "--" or "/* */" markers, trimmed
};

// Returns the offset of the first byte at or after `from` that is neither
// whitespace nor inside a comment (or `to`), appending the comments passed
// on the way to `comments` when it is not null. Nested /* */ comments count.
size_t skip_trivia(std::string_view text, size_t from, size_t to,
                   std::vector<Comment>* comments = nullptr);

// `text` without leading and trailing whitespace.
std::string_view trim(std::string_view text);

}  // namespace colshift::lint
