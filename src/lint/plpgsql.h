// SQL inside PL/pgSQL: DO blocks and LANGUAGE plpgsql function bodies.
#pragma once

#include <string>
#include <vector>

#include "lint/source.h"
#include "lint/types.h"

namespace colshift::lint {

// For every DO block and plpgsql CREATE FUNCTION/PROCEDURE in `statements`,
// parses the body with the PL/pgSQL parser and inserts each embedded SQL
// statement (and EXECUTE of a string literal) right after its parent, with
// `parent` set and its position found in `text`. A body that does not parse
// becomes a nested statement carrying the error.
void expand_plpgsql(const std::string& text, const SourceText& src,
                    std::vector<Statement>& statements);

}  // namespace colshift::lint
