#pragma once
// The one error type that crosses the plugin boundary. Plugins may throw anything inside their own code; the
// SDK's interface wrappers (see component.hpp) catch it and rethrow it as mtnlg::Error, prefixed with the
// component's name, so the host only ever sees this type. Entry points and factories never throw at all.
#include <stdexcept>
#include <string>

#include "mtnlg/export.hpp"

namespace mtnlg {

class MTNLG_SDK_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
  ~Error() override;
};

[[noreturn]] MTNLG_SDK_API void fail(const std::string& message);

}  // namespace mtnlg

// Throws mtnlg::Error with the message when the condition is false.
#define MTNLG_CHECK(cond, message)         \
  do {                                     \
    if (!(cond)) ::mtnlg::fail((message)); \
  } while (false)
