// Reading libpg_query's JSON parse trees into nlohmann::json, fast.
//
// pg_query_parse hands back its tree as JSON text; nlohmann's general parser
// spent as long reading it as PostgreSQL's grammar took to parse the SQL.
// This reader knows the shape libpg_query writes (objects, arrays, strings,
// integers, floats, booleans, null; the escapes of its JSON writer) and builds
// the same nlohmann::json values nlohmann's parser would, including
// number_unsigned for non-negative integers.
#pragma once

#include <nlohmann/json.hpp>

namespace colshift::lint {

// The tree of libpg_query's JSON `text`; a discarded value (is_discarded())
// when it is not well-formed JSON, as json::parse(text, nullptr, false) gives.
nlohmann::json read_tree_json(const char* text);

}  // namespace colshift::lint
