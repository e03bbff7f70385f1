#include "progress_meter.hpp"

#include <unistd.h>

#include <cstdio>

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data {

namespace {

constexpr double kRedrawSeconds = 0.25;   // on a terminal: smooth enough, and no cost per document
constexpr double kLogLineSeconds = 10.0;  // into a file (--progress always): a line every so often

std::string duration_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", s / 3600, s % 3600 / 60);
  } else if (s >= 60) {
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lds", s);
  }
  return buffer;
}

}  // namespace

ProgressMode parse_progress_mode(const std::string& text) {
  if (text == "auto") return ProgressMode::automatic;
  if (text == "always") return ProgressMode::always;
  if (text == "never") return ProgressMode::never;
  fail(str("--progress must be auto, always or never, got '", text, "'"));
}

ProgressMeter::ProgressMeter(std::string label, std::uint64_t total_bytes, ProgressMode mode)
    : label_(std::move(label)),
      total_bytes_(total_bytes),
      terminal_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  enabled_ = mode == ProgressMode::always || (mode == ProgressMode::automatic && terminal_);
}

ProgressMeter::~ProgressMeter() {
  // Destroyed without finish(): the command failed. End the half-drawn line so the error starts on its own.
  if (!finished_ && drawn_ && terminal_) std::fputc('\n', stderr);
}

void ProgressMeter::update(std::uint64_t bytes_done, std::uint64_t documents) {
  bytes_ = bytes_done;
  documents_ = documents;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_draw_).count() <
      (terminal_ ? kRedrawSeconds : kLogLineSeconds))
    return;
  last_draw_ = now;
  draw(false);
}

void ProgressMeter::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

void ProgressMeter::draw(bool final_line) {
  drawn_ = true;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double mb = bytes_ / 1e6;
  const double rate = seconds > 0 ? mb / seconds : 0.0;
  std::string line = label_ + ": ";
  char buffer[96];
  if (total_bytes_ > 0) {
    std::snprintf(buffer, sizeof buffer, "%5.1f%% %.1f/%.1f MB", 100.0 * bytes_ / total_bytes_, mb,
                  total_bytes_ / 1e6);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.1f MB", mb);
  }
  line += buffer;
  std::snprintf(buffer, sizeof buffer, ", %.1f MB/s, %llu documents", rate,
                static_cast<unsigned long long>(documents_));
  line += buffer;
  if (final_line) {
    line += ", " + duration_text(seconds);
  } else if (total_bytes_ > 0 && rate > 0 && bytes_ <= total_bytes_) {
    line += ", " + duration_text((total_bytes_ - bytes_) / 1e6 / rate) + " left";
  }
  // On a terminal the line is redrawn in place; the trailing clear (ESC [ K) erases a longer previous one.
  if (terminal_) {
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace mtnlg::data
