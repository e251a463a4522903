#include "dialect/connection.h"

#include <charconv>

namespace colshift {

const Param& QueryResult::at(size_t r, std::string_view column) const {
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (columns_[c] == column) return at(r, c);
  }
  throw std::out_of_range("no column " + std::string(column) + " in result");
}

std::string QueryResult::text(size_t r, size_t c, std::string fallback) const {
  const auto& v = at(r, c);
  return v ? *v : std::move(fallback);
}

long long QueryResult::integer(size_t r, size_t c, long long fallback) const {
  const auto& v = at(r, c);
  if (!v) return fallback;
  long long out = fallback;
  auto res = std::from_chars(v->data(), v->data() + v->size(), out);
  if (res.ec != std::errc()) {
    // numeric like "12.0" or "1e6": fall back to a double parse
    try {
      return static_cast<long long>(std::stod(*v));
    } catch (...) {
      return fallback;
    }
  }
  return out;
}

bool QueryResult::boolean(size_t r, size_t c) const {
  const auto& v = at(r, c);
  return v && (*v == "t" || *v == "true" || *v == "1" || *v == "on");
}

}  // namespace colshift
