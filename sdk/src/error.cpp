#include "mtnlg/error.hpp"

#include <exception>

#include "mtnlg/component.hpp"

namespace mtnlg {

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;

void fail(const std::string& message) {
  throw Error(message);
}

void rethrow_as_error(std::string_view who) {
  try {
    throw;
  } catch (const Error& e) {
    // Already an SDK error: keep the innermost component's prefix, add ours only once.
    const std::string what = e.what();
    if (what.rfind(std::string(who) + ": ", 0) == 0) throw;
    throw Error(std::string(who) + ": " + what);
  } catch (const std::exception& e) {
    throw Error(std::string(who) + ": " + e.what());
  } catch (...) {
    throw Error(std::string(who) + ": unknown exception");
  }
}

}  // namespace mtnlg
