#include "serve/page.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/text.h"

namespace colshift::serve {
namespace {

std::string eta_text(double seconds) {
  if (seconds < 0) return "unknown";
  if (seconds == 0) return "done";
  return human_duration(seconds);
}

std::string backfill_html(const BackfillView& b) {
  std::string out = fmt::format(
      "<div class=\"backfill\" data-step=\"{}\">\n<h3>{}.{}</h3>\n"
      "<progress max=\"100\" value=\"{:.1f}\">{:.1f}%</progress>\n"
      "<p class=\"numbers\"><span class=\"percent\">{:.1f}%</span> · "
      "<span class=\"rows-done\">{}</span> of {} rows · <span class=\"rate\">{}</span> rows/s · "
      "ETA <span class=\"eta\">{}</span></p>\n",
      b.step, html_escape(b.table), html_escape(b.columns), b.percent, b.percent, b.percent,
      with_commas(b.rows_done), with_commas(b.rows_total),
      with_commas(static_cast<long long>(b.rows_per_second)), eta_text(b.eta_seconds));
  if (!b.throttle.empty())
    out += fmt::format("<p class=\"throttle\">waiting: {}</p>\n", html_escape(b.throttle));
  out += rate_chart_svg(b.rate_history);
  return out + "</div>\n";
}

// Each guard's latest value against its threshold, and its last decision.
std::string guards_html(const std::vector<state::GuardRecord>& guards) {
  if (guards.empty()) return {};
  auto num = [](const std::optional<double>& v) {
    return v ? fmt::format("{:g}", *v) : std::string("-");
  };
  std::string out =
      "<table class=\"guards\">\n<thead><tr><th>guard</th><th>policy</th><th>value</th>"
      "<th>trips when</th><th>baseline</th><th>health</th><th>last decision</th></tr></thead>\n"
      "<tbody>\n";
  for (const auto& g : guards) {
    out += fmt::format(
        "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>\n",
        g.tripped ? "tripped" : "ok", html_escape(g.name), html_escape(g.policy), num(g.value),
        html_escape(g.threshold), num(g.baseline),
        html_escape(g.tripped ? "TRIPPED: " + g.reason : g.health),
        html_escape(g.decision.empty() ? "-" : g.decision + " at " + g.decided_at));
  }
  return out + "</tbody>\n</table>\n";
}

std::string controls_html(const MigrationView& m, const PageOptions& o) {
  if (!o.allow_control || !m.running) return {};
  std::string out = "<div class=\"controls\">";
  for (const char* action : {"pause", "resume", "abort"}) {
    out += fmt::format(
        "<form method=\"post\" action=\"/control/{}{}\"><button type=\"submit\" "
        "name=\"action\" value=\"{}\">{}</button></form>",
        action, html_escape(o.query), action, action);
  }
  return out + "</div>\n";
}

std::string events_html(const Snapshot& s) {
  if (s.recent_events.empty()) return "<p>No events yet.</p>\n";
  std::string out =
      "<table class=\"events\">\n<thead><tr><th>id</th><th>at</th><th>migration</th>"
      "<th>kind</th><th>detail</th></tr></thead>\n<tbody>\n";
  for (const auto& e : s.recent_events) {
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n", e.id,
        html_escape(e.at), html_escape(e.migration), html_escape(e.kind),
        html_escape(e.detail.dump()));
  }
  return out + "</tbody>\n</table>\n";
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string rate_chart_svg(const std::vector<std::pair<double, double>>& history) {
  constexpr double kW = 600, kH = 120, kPad = 4;
  if (history.size() < 2) return "<p class=\"chart-note\">Rate chart: collecting samples.</p>\n";
  double t0 = history.front().first, t1 = history.back().first;
  double top = 1;
  for (const auto& [t, r] : history) top = std::max(top, r);
  std::string points;
  for (const auto& [t, r] : history) {
    double x = kPad + (t1 > t0 ? (t - t0) / (t1 - t0) : 0) * (kW - 2 * kPad);
    double y = kH - kPad - std::max(0.0, r) / top * (kH - 2 * kPad);
    points += fmt::format("{:.1f},{:.1f} ", x, y);
  }
  return fmt::format(
      "<svg class=\"rate-chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" "
      "aria-label=\"backfill rate over the last {span:.0f} s, peak {top} rows/s\">"
      "<rect width=\"{w}\" height=\"{h}\" fill=\"#f6f8fa\"/>"
      "<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\" points=\"{pts}\"/>"
      "<text x=\"8\" y=\"16\" font-size=\"12\">{top} rows/s peak · last {span:.0f} s</text>"
      "</svg>\n",
      fmt::arg("w", kW), fmt::arg("h", kH), fmt::arg("pts", points),
      fmt::arg("top", with_commas(static_cast<long long>(top))), fmt::arg("span", t1 - t0));
}

std::string render_live(const Snapshot& s, const PageOptions& o) {
  std::string out;
  if (!s.initialized) {
    out += "<p class=\"idle\">colshift is not initialised in this database.</p>\n";
  } else if (s.migrations.empty()) {
    out += "<p class=\"idle\">No migration in flight.";
    if (!s.last_finished.empty()) out += " Last: " + html_escape(s.last_finished) + ".";
    out += "</p>\n";
  }
  for (const auto& m : s.migrations) {
    out += fmt::format(
        "<section class=\"migration\" data-migration=\"{name}\">\n"
        "<h2>{name} <span class=\"phase phase-{phase}\">{phase}</span>{paused}</h2>\n"
        "<p class=\"purpose\">{purpose}</p>\n"
        "<p class=\"meta\">{done} of {total} steps done · started {started} by {by} · {who}</p>\n",
        fmt::arg("name", html_escape(m.name)), fmt::arg("phase", html_escape(m.phase)),
        fmt::arg("paused", m.paused ? " <span class=\"paused\">paused</span>" : ""),
        fmt::arg("purpose", html_escape(m.purpose)), fmt::arg("done", m.steps_done),
        fmt::arg("total", m.steps_total), fmt::arg("started", html_escape(m.started_at)),
        fmt::arg("by", html_escape(m.applied_by)),
        fmt::arg("who", m.running ? "a colshift process is working on it"
                                  : "no colshift process is working on it"));
    if (!m.error.empty())
      out += fmt::format("<p class=\"error\">last error: {}</p>\n", html_escape(m.error));
    for (const auto& b : m.backfills) out += backfill_html(b);
    out += guards_html(m.guards);
    out += controls_html(m, o);
    out += "</section>\n";
  }
  out += "<h2>Recent events</h2>\n" + events_html(s);
  out += fmt::format("<p class=\"updated\">Updated <time>{}</time>.</p>\n",
                     html_escape(s.generated_at));
  return out;
}

std::string render_page(const Snapshot& s, const PageOptions& o) {
  return fmt::format(
      R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>colshift · {db}/{schema}</title>
<style>
body {{ font: 15px/1.4 system-ui, sans-serif; margin: 1.5rem auto; max-width: 60rem; padding: 0 1rem; color: #1f2328; }}
progress {{ width: 100%; height: 1.2rem; }}
.phase {{ font-size: .8em; padding: .1em .5em; border-radius: .5em; background: #ddf4ff; }}
.paused, .error, .throttle, tr.tripped {{ color: #9a6700; }}
.controls form {{ display: inline; margin-right: .5em; }}
table.events {{ border-collapse: collapse; width: 100%; font-size: .9em; }}
table.events td, table.events th {{ border-bottom: 1px solid #d0d7de; padding: .2em .4em; text-align: left; vertical-align: top; }}
code {{ font-size: .85em; }}
</style>
</head>
<body>
<h1>colshift · {db}/{schema}</h1>
<p><a href="/status.json{q}">JSON</a> · live over Server-Sent Events<noscript> (JavaScript is off: reload for the latest state)</noscript></p>
<main id="live">
{live}</main>
<script>
(function () {{
  if (!window.EventSource) return;
  var seen = 0, es = new EventSource('/events{q}');
  es.addEventListener('status', function (e) {{
    document.getElementById('live').innerHTML = JSON.parse(e.data).html;
    document.body.setAttribute('data-sse-events', ++seen);
  }});
}})();
</script>
</body>
</html>
)",
      fmt::arg("db", html_escape(s.database)), fmt::arg("schema", html_escape(s.schema)),
      fmt::arg("q", html_escape(o.query)), fmt::arg("live", render_live(s, o)));
}

}  // namespace colshift::serve
