// The status page's HTML, rendered on the server from a Snapshot: the whole
// page readable without JavaScript, and the live part alone, which the page's
// small script swaps in on every Server-Sent Event.
#pragma once

#include <string>

#include "serve/snapshot.h"

namespace colshift::serve {

struct PageOptions {
  bool allow_control = false;  // pause / resume / abort buttons
  std::string query;           // "?token=..." carried on links and forms, or ""
};

// The inner HTML of <main id="live">.
std::string render_live(const Snapshot& s, const PageOptions& o);
// The whole document.
std::string render_page(const Snapshot& s, const PageOptions& o);
// An inline SVG line chart of rows/s over time (empty history: a note).
std::string rate_chart_svg(const std::vector<std::pair<double, double>>& history);
std::string html_escape(const std::string& text);

}  // namespace colshift::serve
