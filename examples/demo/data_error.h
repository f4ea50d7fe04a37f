// Errors of the demo's data loaders. Like the library's format errors, the message starts with the
// defect in brackets ("[bad_magic] ...") so callers and tests can tell the cases apart.
#pragma once

#include <stdexcept>
#include <string>

namespace demo {

class DataError : public std::runtime_error {
 public:
  DataError(const std::string &defect, const std::string &detail)
      : std::runtime_error("[" + defect + "] " + detail), defect_(defect) {}
  const std::string &defect() const { return defect_; }

 private:
  std::string defect_;
};

}  // namespace demo
