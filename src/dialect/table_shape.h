// The shape of a table as the catalog describes it: columns, indexes,
// constraints, triggers and comments, in a fixed order, with no sizes or
// statistics, so the same schema always gives the same shape. The dialect
// reads it (Dialect::describe_tables); the runner stores one before a
// migration's expand and one after its complete or rollback; the docs render
// it, per migration with a diff, and per table.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace colshift {

struct TableShape {
  struct Column {
    std::string name;
    std::string type;  // as the engine spells it, with modifiers ("character varying(40)")
    bool not_null = false;
    std::string default_expr;  // empty: none
    std::string generated;     // "always as identity", "by default as identity", "stored (expr)"
    std::string comment;
  };
  struct Index {
    std::string name;
    std::string definition;  // the full CREATE INDEX statement
    bool valid = true;       // false: an invalid (failed or in-progress concurrent) build
  };
  struct Constraint {
    std::string name;
    std::string kind;        // "primary key", "unique", "foreign key", "check", "exclusion"
    std::string definition;  // "FOREIGN KEY (a) REFERENCES public.t(id)"
    bool validated = true;   // false: NOT VALID
  };
  struct Trigger {
    std::string name;
    std::string definition;
    bool enabled = true;
  };
  struct Reference {  // a foreign key of another table that points at this one
    std::string table;
    std::string constraint;
    std::string definition;
  };

  std::string name;  // "schema.table"
  std::string kind;  // "table", "partitioned table"
  std::string comment;
  std::vector<Column> columns;           // in column order
  std::vector<Index> indexes;            // by name
  std::vector<Constraint> constraints;   // by name
  std::vector<Trigger> triggers;         // by name (user triggers only)
  std::vector<Reference> referenced_by;  // by table, then constraint
};

// A set of tables at one moment: the ones found, and the names asked for
// that were not tables then (not created yet, dropped, or another kind).
struct SchemaSnapshot {
  std::vector<TableShape> tables;   // by name
  std::vector<std::string> absent;  // by name
  bool recorded = false;            // false: no snapshot (older state, or not taken)
};

nlohmann::json shape_to_json(const TableShape& t);
TableShape shape_from_json(const nlohmann::json& j);
nlohmann::json snapshot_to_json(const SchemaSnapshot& s);
SchemaSnapshot snapshot_from_json(const nlohmann::json& j);

// The shape's lines in the order the docs print them ("column email text NOT
// NULL DEFAULT ''", "index users_pkey: CREATE UNIQUE INDEX ..."), each keyed
// by what it describes, so two shapes diff by key.
struct ShapeLine {
  std::string key;   // "column email", "index users_pkey", ...
  std::string text;  // the whole line
};
std::vector<ShapeLine> shape_lines(const TableShape& t);

// What changed from `before` to `after` (either may be absent: a table the
// migration created or dropped), as unified-diff lines: "- old", "+ new",
// changed lines as a "-" then a "+"; empty when nothing changed.
std::vector<std::string> shape_diff(const TableShape* before, const TableShape* after);

const TableShape* find_table(const SchemaSnapshot& s, const std::string& name);

}  // namespace colshift
