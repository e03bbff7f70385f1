#include "mtnlg/log.hpp"

#include <atomic>
#include <cstdio>

namespace mtnlg {

namespace {
std::atomic<LogSink> g_sink{nullptr};

void stderr_sink(int level, const char* message, std::size_t length) {
  static const char* const kNames[] = {"trace", "debug", "info", "warning", "error"};
  if (level < static_cast<int>(LogLevel::info)) return;
  std::fprintf(stderr, "[%s] %.*s\n", kNames[level], static_cast<int>(length), message);
}
}  // namespace

void set_log_sink(LogSink sink) {
  g_sink.store(sink);
}

void log(LogLevel level, std::string_view message) {
  LogSink sink = g_sink.load();
  (sink ? sink : stderr_sink)(static_cast<int>(level), message.data(), message.size());
}

}  // namespace mtnlg
