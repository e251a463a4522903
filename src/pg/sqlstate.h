// SQLSTATE classification: the one function that decides how colshift reacts
// to a PostgreSQL error code.
#pragma once

#include <string_view>

#include "dialect/connection.h"

namespace colshift::pg {

// 55P03 lock_not_available, 40P01 deadlock_detected, 40001 serialization_failure
//   -> kRetryable
// class 08 (connection exception), 57P01..57P03 (admin/crash shutdown, cannot
//   connect now) -> kConnectionLost
// 57014 query_canceled -> kCanceled
// class 42 (syntax error or access rule violation), 22 (data exception),
//   3F000 invalid_schema_name, 0A000 feature_not_supported -> kUserError
// class 23 (integrity constraint violation) -> kConstraint
// anything else -> kOther
DbErrorClass classify_sqlstate(std::string_view sqlstate);

}  // namespace colshift::pg
