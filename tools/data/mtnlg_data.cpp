// mtnlg-data: data preparation the MT-NLG way. Each subcommand lives in its own file and registers itself
// (data_command.hpp): tokenize turns text into a Megatron mmap indexed dataset; see --help for the others.
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>

#include "data_command.hpp"
#include "mtnlg/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mtnlg-data — prepare training data the MT-NLG way (Megatron indexed datasets)"};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, mtnlg::data::CommandRun>> commands;
  try {
    for (auto& [name, entry] : mtnlg::data::data_commands()) {
      CLI::App* sub = app.add_subcommand(name, entry.summary);
      commands.emplace_back(sub, entry.setup(*sub));
    }
  } catch (const mtnlg::Error& e) {
    std::cerr << "mtnlg-data: internal error: " << e.what() << "\n";
    return 3;
  }
  CLI11_PARSE(app, argc, argv);
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const mtnlg::Error& e) {
    std::cerr << "mtnlg-data: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
