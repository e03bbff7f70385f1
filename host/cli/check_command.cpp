#include "cli/check_command.hpp"

#include <iostream>
#include <map>

#include "mtnlg/str.hpp"
#include "recipe/print_recipe.hpp"
#include "training/recipe_schema.hpp"
#include "training/stage.hpp"

namespace mtnlg::host {

namespace {
std::string bytes_str(std::size_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}
}  // namespace

int check_recipe(Registry& registry, const std::filesystem::path& file,
                 const std::vector<std::string>& overrides, bool print) {
  const Table recipe = resolve_recipe(file, overrides, registry);
  if (print) {
    std::cout << recipe::print_recipe(recipe);
    return 0;
  }
  const Table& model = recipe.get_table("model");
  const Table& train = recipe.get_table("train");
  Stage stage(recipe, registry, StageOptions{"meta"});
  const AllocStats setup = stage.backend().alloc_stats();

  std::cout << file.string() << ": valid\n";
  std::cout << "  model      " << model.get_int("layers") << " layers, hidden " << model.get_int("hidden")
            << ", " << model.get_int("heads") << " heads, seq " << model.get_int("seq_len") << ", vocab "
            << model.get_int("vocab_size") << " (padded " << model.get_int("padded_vocab") << ")\n";
  std::map<int, std::int64_t> per_layer;
  for (const auto& p : stage.engine().params().params())
    per_layer[p.layer_index] += shape_numel(p.spec.shape);
  std::cout << "  stack      ";
  for (std::size_t i = 0; i < stage.layers().size(); ++i) {
    const int index = stage.layer_indices()[i];
    std::cout << (i ? ", " : "") << stage.layers()[i]->component_label() << " [" << per_layer[index] << "]";
  }
  const std::string dtype = train.get_string("dtype");
  const std::size_t param_bytes =
      static_cast<std::size_t>(stage.engine().params().local_numel()) * dtype_size(*dtype_from_name(dtype));
  std::cout << "\n  parameters " << stage.engine().params().global_numel() << " (" << dtype << ": "
            << bytes_str(param_bytes) << " values + " << bytes_str(param_bytes) << " gradients)\n";
  std::cout << "  batch      global " << train.get_int("global_batch") << " = micro-batch "
            << train.get_int("micro_batch") << " x " << stage.micro_batches() << " micro-batches\n";
  const auto& stream = stage.engine().instructions(stage.micro_batches());
  std::cout << "  schedule   " << recipe.find_path("parallel.schedule")->as_string()
            << ", 1 stage: " << stream.size() << " instructions per step:";
  for (std::size_t i = 0; i < stream.size() && i < 8; ++i) std::cout << " " << instruction_str(stream[i]);
  std::cout << (stream.size() > 8 ? " ..." : "") << "\n";
  std::cout << "  memory     after set-up: " << bytes_str(setup.current_bytes)
            << " (parameters, gradients, optimizer state)\n";
  if (recipe.contains("reader")) {
    stage.engine().train_step(
        {.step = 1, .lr = stage.optimizer()->base_lr(), .micro_batches = stage.micro_batches()});
    const AllocStats step = stage.backend().alloc_stats();
    std::cout << "  memory     one training step (meta backend): peak " << bytes_str(step.peak_bytes) << ", "
              << step.allocations - setup.allocations << " allocations\n";
  } else {
    std::cout << "  memory     one training step: not simulated (the recipe has no [reader] to give input "
                 "shapes)\n";
  }
  return 0;
}

}  // namespace mtnlg::host
