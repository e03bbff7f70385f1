#pragma once
// The logging facade plugins use. The host installs a sink (spdlog, with the rank in the pattern); plugins
// never see spdlog, whose registry is per copy of the library.
#include <string_view>

#include "mtnlg/export.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg {

enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4 };

using LogSink = void (*)(int level, const char* message, std::size_t length);

MTNLG_SDK_API void set_log_sink(LogSink sink);  // host only; null restores the stderr default
MTNLG_SDK_API void log(LogLevel level, std::string_view message);

template <class... Parts>
void log_debug(const Parts&... parts) {
  log(LogLevel::debug, str(parts...));
}
template <class... Parts>
void log_info(const Parts&... parts) {
  log(LogLevel::info, str(parts...));
}
template <class... Parts>
void log_warn(const Parts&... parts) {
  log(LogLevel::warn, str(parts...));
}

}  // namespace mtnlg
