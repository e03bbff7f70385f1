#pragma once
// Every mtnlg-data subcommand registers itself from its own file (tools/data/<command>/…), so adding one
// touches no other command: its setup adds the subcommand and its options to the app and returns what runs it
// once the command line is parsed.
#include <functional>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

namespace mtnlg::data {

using CommandRun = std::function<int()>;  // the command's exit code; throws mtnlg::Error for a clear failure
using CommandSetup = std::function<CommandRun(CLI::App& subcommand)>;

struct CommandEntry {
  std::string summary;
  CommandSetup setup;
};

// By name; filled during static initialisation by MTNLG_DATA_COMMAND.
std::map<std::string, CommandEntry>& data_commands();
bool register_data_command(const std::string& name, std::string summary, CommandSetup setup);

}  // namespace mtnlg::data

// At namespace scope in the command's .cpp: MTNLG_DATA_COMMAND(dedup, "summary", [](CLI::App& sub) { ... }).
#define MTNLG_DATA_COMMAND(name, summary, setup) \
  static const bool mtnlg_data_command_##name = ::mtnlg::data::register_data_command(#name, summary, setup)
