// A list bound as one statement parameter: the dialect's SQL takes lists of
// names as `$N::text[]`, whose text form is an array literal ({"a","b\"c"}).
#pragma once

#include <string>
#include <vector>

namespace colshift {

inline std::string text_list_param(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace colshift
