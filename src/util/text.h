// Small text helpers shared across folders.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace colshift {

std::string trim(std::string_view s);
std::string to_lower(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// The candidate closest to `word` by edit distance, when close enough to be a
// plausible typo (distance <= 2, or <= a third of the length).
std::optional<std::string> closest(const std::string& word,
                                   const std::vector<std::string>& candidates);

// "file:line:col" followed by the source line and a caret under `col`:
//   migrations/x.yaml:4:7
//       colum: { name: x }
//       ^
// line/col are 1-based; 0 leaves them out.
std::string source_excerpt(std::string_view text, const std::string& file, int line, int col);

// "1.2 s", "350 ms", "4 min 10 s", "2 h 5 min"
std::string human_duration(double seconds);

// Length of the valid UTF-8 sequence starting at s[i] (1 to 4), or 0 when the
// bytes there are not valid UTF-8 (overlong forms and surrogates included).
size_t utf8_sequence_length(std::string_view s, size_t i);
// Offset of the first byte that is not valid UTF-8, or npos.
size_t find_invalid_utf8(std::string_view s);
// Byte offset of character `chars` (0-based) of UTF-8 text, as servers and
// parsers count error positions; s.size() when the text is shorter. A byte that
// is not valid UTF-8 counts as one character.
size_t utf8_byte_offset(std::string_view s, size_t chars);
// "1,234,567"
std::string with_commas(long long n);

// 8192 -> "8 kB", 73400320 -> "70 MB" (1024-based, as pg_size_pretty);
// negative: "size unknown".
std::string human_bytes(long long bytes);

}  // namespace colshift
