#include "pg/sqlstate.h"

namespace colshift::pg {

DbErrorClass classify_sqlstate(std::string_view s) {
  if (s == "55P03" || s == "40P01" || s == "40001") return DbErrorClass::kRetryable;
  if (s.substr(0, 2) == "08" || s == "57P01" || s == "57P02" || s == "57P03")
    return DbErrorClass::kConnectionLost;
  if (s == "57014") return DbErrorClass::kCanceled;
  if (s.substr(0, 2) == "42" || s.substr(0, 2) == "22" || s == "3F000" || s == "0A000")
    return DbErrorClass::kUserError;
  if (s.substr(0, 2) == "23") return DbErrorClass::kConstraint;
  return DbErrorClass::kOther;
}

}  // namespace colshift::pg
