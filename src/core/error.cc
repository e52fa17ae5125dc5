#include "core/error.h"

namespace aegis {

std::string Error::ToString() const {
  std::string out = where;
  if (line != 0) {
    out.push_back(':');
    out.append(std::to_string(line));
  } else if (!where.empty()) {
    out.push_back('@');
    out.append(std::to_string(offset));
  }
  if (!out.empty()) out += ": ";
  if (!field.empty()) out += "field '" + field + "': ";
  out += reason;
  return out;
}

}  // namespace aegis
