#include "cli/logging.hpp"

#include <cstdlib>
#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "mtnlg/error.hpp"
#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

int rank_from_environment() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return 0;
}

namespace {
void spdlog_sink(int level, const char* message, std::size_t length) {
  spdlog::default_logger_raw()->log(static_cast<spdlog::level::level_enum>(level),
                                    std::string_view(message, length));
}
}  // namespace

void setup_logging(const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    fail(str("unknown log level '", level, "'; use trace, debug, info, warn or error"));
  const int rank = rank_from_environment();
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  // Every rank would print the same lines; only rank 0 speaks on the console unless asked for debug output.
  if (rank != 0 && parsed > spdlog::level::debug) console->set_level(spdlog::level::warn);
  auto logger = std::make_shared<spdlog::logger>("mtnlg", console);
  logger->set_pattern(str("[%H:%M:%S.%e] [rank ", rank, "] [%^%l%$] %v"));
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
  set_log_sink(&spdlog_sink);
}

}  // namespace mtnlg::host
