#include "lint/source.h"

#include <algorithm>
#include <cctype>

namespace colshift::lint {

SourceText::SourceText(std::string_view text) : text_(text) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts_.push_back(i + 1);
  }
}

Position SourceText::position(size_t offset) const {
  offset = std::min(offset, text_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t line = static_cast<size_t>(it - line_starts_.begin());  // 1-based
  return {static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1), offset};
}

size_t SourceText::offset_of(int line, int column) const {
  if (line < 1) return 0;
  if (static_cast<size_t>(line) > line_starts_.size()) return text_.size();
  size_t at =
      line_starts_[static_cast<size_t>(line) - 1] + static_cast<size_t>(std::max(column, 1) - 1);
  return std::min(at, text_.size());
}

std::string_view SourceText::line_text(int line) const {
  if (line < 1 || static_cast<size_t>(line) > line_starts_.size()) return {};
  size_t begin = line_starts_[static_cast<size_t>(line) - 1];
  size_t end = static_cast<size_t>(line) < line_starts_.size()
                   ? line_starts_[static_cast<size_t>(line)] - 1
                   : text_.size();
  if (end > begin && text_[end - 1] == '\r') --end;
  return text_.substr(begin, end - begin);
}

std::string_view trim(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return text.substr(b, e - b);
}

size_t skip_trivia(std::string_view text, size_t from, size_t to, std::vector<Comment>* comments) {
  to = std::min(to, text.size());
  size_t i = from;
  while (i < to) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '-' && i + 1 < to && text[i + 1] == '-') {
      size_t end = text.find('\n', i);
      if (end == std::string_view::npos || end > to) end = to;
      if (comments) comments->push_back({i, std::string(trim(text.substr(i + 2, end - i - 2)))});
      i = end;
    } else if (c == '/' && i + 1 < to && text[i + 1] == '*') {
      size_t start = i;
      int depth = 0;
      while (i < to) {
        if (text[i] == '/' && i + 1 < to && text[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (text[i] == '*' && i + 1 < to && text[i + 1] == '/') {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
      if (comments) {
        size_t body_end = depth == 0 ? i - 2 : i;  // unterminated: up to `to`
        comments->push_back(
            {start, std::string(trim(text.substr(start + 2, body_end - start - 2)))});
      }
    } else {
      break;
    }
  }
  return std::min(i, to);
}

}  // namespace colshift::lint
