#pragma once
// A cluster description for the planner: how many GPUs a node has and every number the planner assumes about
// them (peak FLOP/s, memory, bandwidths, achievable efficiencies), each with where it comes from. Files live
// in recipes/clusters/NAME.toml; a user adds their own file and passes its path.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace mtnlg::host::plan {

struct Assumption {
  double value = 0.0;
  std::string unit;
  std::string source;  // a citation, a measurement of ours, or "assumption: ..." where nothing better exists
  std::string where;   // file:line of the value, or "--assume" / "(planner default)"
};

struct Cluster {
  std::string name;
  std::string description;
  std::filesystem::path file;
  int gpus_per_node = 1;
  std::map<std::string, Assumption> assumptions;  // by key; every key in required_assumptions() is present

  // The value of `key`; an error naming the cluster file if it is missing (only for a planner bug: load and
  // override refuse clusters that lack a required key).
  double value(const std::string& key) const;
};

// The keys every cluster file must give, with what each means: the file's schema.
const std::map<std::string, std::string>& required_assumptions();

// The directory of the stock cluster files (recipes/clusters in the source tree).
std::filesystem::path stock_cluster_dir();

// NAME (a stock cluster: recipes/clusters/NAME.toml) or a path to a .toml file. Errors name the file, line
// and key: an unknown name (with the stock ones listed), a missing or non-numeric key, a value out of range,
// a key the planner does not know (with the nearest known one).
Cluster load_cluster(const std::string& name_or_path);

// Applies `--assume KEY=VALUE` overrides; the source of an overridden value becomes the command line. Also
// adds the planner's software assumptions (not properties of a cluster) where the file does not set them.
void apply_assumptions(Cluster& cluster, const std::vector<std::string>& overrides);

}  // namespace mtnlg::host::plan
