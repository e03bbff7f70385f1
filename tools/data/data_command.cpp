#include "data_command.hpp"

#include "mtnlg/error.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::data {

std::map<std::string, CommandEntry>& data_commands() {
  static std::map<std::string, CommandEntry>
      commands;  // constructed on first use: registration order is free
  return commands;
}

bool register_data_command(const std::string& name, std::string summary, CommandSetup setup) {
  const bool fresh = data_commands().emplace(name, CommandEntry{std::move(summary), std::move(setup)}).second;
  MTNLG_CHECK(fresh, str("mtnlg-data: two commands named '", name, "'"));
  return true;
}

}  // namespace mtnlg::data
