// mtnlg: the host. Reads a TOML recipe, loads plugins and composes this rank's part of the training graph.
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/check_command.hpp"
#include "cli/eval_command.hpp"
#include "cli/generate_command.hpp"
#include "cli/logging.hpp"
#include "cli/plan_command.hpp"
#include "cli/plugins_command.hpp"
#include "cli/train_command.hpp"
#include "convert/hf_gpt2.hpp"
#include "convert/reshard_checkpoint.hpp"
#include "eval/task_eval.hpp"
#include "mtnlg/error.hpp"
#include "plugin_host/registry.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mtnlg — train GPT models of the Megatron-Turing NLG family with 3D parallelism"};
  app.require_subcommand(1);
  std::string log_level = "info";
  std::vector<std::string> extra_plugins;
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error")->capture_default_str();
  app.add_option("--plugin", extra_plugins,
                 "load this plugin library (or every lib*.so in this directory) as well; repeatable. "
                 "MTNLG_PLUGIN_PATH (':'-separated) does the same from the environment");

  auto* plugins =
      app.add_subcommand("plugins", "list loaded plugins and what they provide, and refused ones");
  std::string describe;
  plugins->add_option("--describe", describe, "print the recipe keys of a component (NAME or KIND/NAME)");

  auto* check =
      app.add_subcommand("check", "validate a recipe without running it and summarise what it builds");
  std::string recipe_path;
  std::vector<std::string> overrides;
  bool print = false;
  check->add_option("recipe", recipe_path, "recipe file (TOML)")->required();
  check->add_option("--set", overrides,
                    "override a recipe value: --set model.hidden=128 (TOML value; a bare "
                    "word is a string); repeatable");
  check->add_flag("--print", print,
                  "print the fully resolved recipe (includes, overrides, defaults) as TOML");
  bool no_data = false;
  check->add_flag("--no-data", no_data,
                  "do not open the recipe's data: a synthetic reader of the same shapes stands in (for data "
                  "that lives elsewhere, or placeholder paths)");
  int world = 1;
  check
      ->add_option("--world", world,
                   "check the pipeline of a launch on this many ranks (mpirun -np N): layout, every stage's "
                   "stream simulated together, bubble")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  auto* plan = app.add_subcommand(
      "plan",
      "predict a recipe's memory per GPU and iteration time on N nodes of a cluster, before booking them");
  mtnlg::host::PlanOptions plan_options;
  std::string plan_json;
  plan->add_option("recipe", plan_options.recipe, "recipe file (TOML)")->required();
  plan->add_option("--cluster", plan_options.cluster,
                   "a stock cluster (dgx-a100-80gb, dgx-h100, cpu-laptop: recipes/clusters/NAME.toml) or the "
                   "path of your own cluster file")
      ->required();
  plan->add_option("--nodes", plan_options.nodes,
                   "nodes to plan for (world = nodes x the cluster's gpus_per_node)")
      ->required()
      ->check(CLI::PositiveNumber);
  plan->add_option("--gpus", plan_options.gpus,
                   "plan for this many GPUs of the nodes (default: all of them), e.g. --nodes 1 --gpus 1")
      ->check(CLI::PositiveNumber);
  plan->add_option("--set", plan_options.overrides, "override a recipe value (as for check); repeatable");
  plan->add_option("--assume", plan_options.assumptions,
                   "override one of the cluster's assumptions: --assume gemm_efficiency=0.7; repeatable");
  plan->add_option("--json", plan_json, "also write the plan as JSON to this file");

  auto* train = app.add_subcommand("train", "train a model from a recipe");
  mtnlg::host::TrainOptions train_options;
  std::int64_t steps = 0;
  std::string run_dir;
  train->add_option("recipe", recipe_path, "recipe file (TOML)")->required();
  train->add_option("--set", overrides, "override a recipe value (as for check); repeatable");
  train->add_option("--steps", steps, "optimizer steps to run (replaces train.steps)")
      ->check(CLI::PositiveNumber);
  train->add_flag("--traffic-report", train_options.traffic_report,
                  "every rank writes the bytes its communicator moved, per group and operation, to "
                  "RUN_DIR/traffic/rank-N.json (for tools/bench/parallel-cpu)");
  train->add_option("--run-dir", run_dir,
                    "where metrics.jsonl, the resolved recipe and logs go (default runs/<recipe>)");
  std::string resume;
  train->add_option(
      "--resume", resume,
      "continue from a checkpoint: a run directory (its RUN_DIR/checkpoints/latest; the run goes "
      "on there, metrics.jsonl cut back to that step) or a sharded checkpoint directory (the run "
      "goes on in --run-dir). Any layout: the recipe's [parallel] may differ from the saved one");

  auto* generate = app.add_subcommand("generate", "sample text from a trained model's checkpoint");
  mtnlg::host::GenerateOptions gen;
  std::string checkpoint;
  generate->add_option("checkpoint", checkpoint, "checkpoint directory (RUN_DIR/checkpoint)")->required();
  generate->add_option("--prompt", gen.prompt, "text to continue")->capture_default_str();
  generate->add_option("--max-tokens", gen.max_tokens, "tokens to generate at most")->capture_default_str();
  generate->add_option("--temperature", gen.temperature, "sampling temperature; 0 = greedy")
      ->capture_default_str();
  generate->add_option("--top-k", gen.top_k, "sample among the k most likely tokens; 0 = all")
      ->capture_default_str();
  generate->add_option("--top-p", gen.top_p, "sample within the nucleus of this probability mass")
      ->capture_default_str();
  generate->add_option("--seed", gen.seed, "sampling seed")->capture_default_str();
  generate->add_option("--stop", gen.stop,
                       "stop when the text generated contains this string (cut before it); repeatable");
  generate->add_flag("--no-kv-cache", gen.recompute,
                     "recompute the whole context for every token instead of caching keys and values");
  generate->add_option("--tensor", gen.layout.tensor, "under mpirun: tensor-parallel ranks (default 1)");
  generate->add_option("--pipeline", gen.layout.pipeline, "under mpirun: pipeline stages (default 1)");
  generate->add_option("--dump-logits", gen.dump_logits,
                       "write each generated position's logits (f64, vocab_size per position) to this file, "
                       "for tests");

  auto* eval = app.add_subcommand(
      "eval",
      "evaluate a checkpoint: perplexity on a Megatron indexed dataset (--perplexity), or zero-, one- and "
      "few-shot accuracy on one of MT-NLG's tasks with lm-evaluation-harness's prompts (--task)");
  mtnlg::host::EvalOptions eval_options;
  mtnlg::host::eval::TaskEvalOptions task_options;
  std::string eval_checkpoint, eval_perplexity, eval_task, eval_data, eval_fewshot, eval_json;
  eval->add_option("checkpoint", eval_checkpoint, "checkpoint directory (RUN_DIR/checkpoint)")->required();
  auto* perplexity_option = eval->add_option(
      "--perplexity", eval_perplexity,
      "PREFIX of an indexed dataset (PREFIX.bin/.idx): mean loss and perplexity over its documents, "
      "concatenated and cut into model.seq_len windows");
  auto* task_option = eval->add_option(
      "--task", eval_task,
      "evaluate on a task: lambada, boolq, race, piqa, hellaswag, winogrande, anli, hans, wic (JSONL layouts "
      "and prompts: tools/tasks/README.md); prints a Figure 3 row and acc (acc_norm, ppl where the task has "
      "them)");
  perplexity_option->excludes(task_option);
  eval->add_option("--data", eval_data, "--task: the split to evaluate, FILE.jsonl in the task's layout")
      ->needs(task_option);
  eval->add_option("--shots", task_options.shots,
                   "--task: few-shot examples before each document, joined with blank lines (default 0)")
      ->needs(task_option);
  eval->add_option(
          "--fewshot-data", eval_fewshot,
          "--task: FILE.jsonl (the train split) to draw the few-shot examples from; needed for --shots > 0")
      ->needs(task_option);
  eval->add_option("--seed", task_options.seed, "--task: seed of the few-shot draws")
      ->capture_default_str()
      ->needs(task_option);
  eval->add_option(
          "--json", eval_json,
          "--task: write the metrics and every request (context, continuation, tokens, loglikelihood) "
          "to this file, replaced only when complete")
      ->needs(task_option);
  eval->add_option("--batch", eval_options.batch, "sequences per forward pass (default: train.micro_batch)");
  eval->add_option("--limit", eval_options.limit,
                   "--perplexity: the first N windows only; --task: the first N documents (default: all)");
  eval->add_option("--tensor", eval_options.layout.tensor,
                   "under mpirun: tensor-parallel ranks per model replica (default 1)");
  eval->add_option("--pipeline", eval_options.layout.pipeline,
                   "under mpirun: pipeline stages per model replica (default 1); the world's other ranks are "
                   "data-parallel replicas that share the work");

  auto* convert = app.add_subcommand(
      "convert",
      "convert a checkpoint to or from Hugging Face's GPT-2 layout, or reshard a training checkpoint for "
      "another tensor/pipeline layout");
  std::string convert_to, convert_from, convert_input, convert_output, convert_recipe;
  convert
      ->add_option(
          "input", convert_input,
          "--to: an mtnlg checkpoint (RUN_DIR/checkpoint); --from: a Hugging Face GPT-2 directory; "
          "--tensor/--pipeline: a sharded checkpoint (RUN_DIR/checkpoints/step-N), a run directory "
          "(its latest), or a model checkpoint (becomes a training checkpoint with fresh optimizer state)")
      ->required();
  convert->add_option("output", convert_output, "a new (or empty) directory to write")->required();
  auto* to = convert
                 ->add_option("--to", convert_to,
                              "hf-gpt2: write OUTPUT/model.safetensors and OUTPUT/config.json, which "
                              "GPT2LMHeadModel.from_pretrained loads")
                 ->check(CLI::IsMember({"hf-gpt2"}));
  auto* from = convert
                   ->add_option("--from", convert_from,
                                "hf-gpt2: read INPUT/config.json and INPUT/model.safetensors into an mtnlg "
                                "checkpoint OUTPUT (needs --recipe)")
                   ->check(CLI::IsMember({"hf-gpt2"}));
  to->excludes(from);
  convert
      ->add_option("--recipe", convert_recipe,
                   "--from: the recipe of the model to import into; its [model] must match config.json")
      ->needs(from);
  mtnlg::host::ReshardOptions reshard;
  auto* reshard_tensor =
      convert->add_option("--tensor", reshard.tensor, "reshard for this tensor-parallel size")
          ->check(CLI::PositiveNumber);
  auto* reshard_pipeline =
      convert->add_option("--pipeline", reshard.pipeline, "reshard for this pipeline-parallel size")
          ->check(CLI::PositiveNumber);
  auto* reshard_virtual =
      convert
          ->add_option("--virtual-stages", reshard.virtual_stages, "reshard: model chunks per pipeline rank")
          ->check(CLI::PositiveNumber);
  for (auto* option : {reshard_tensor, reshard_pipeline, reshard_virtual})
    option->excludes(to)->excludes(from);
  std::vector<std::string> convert_overrides;
  convert->add_option("--set", convert_overrides,
                      "override a value of --recipe (--from) or of the checkpoint's recipe (resharding: say "
                      "train.dtype for the run to come); as for check");

  CLI11_PARSE(app, argc, argv);
  try {
    mtnlg::host::setup_logging(log_level);
    mtnlg::host::Registry registry;
    registry.load_standard_locations();
    for (const auto& p : extra_plugins) registry.load_required(p, "--plugin " + p);
    if (plugins->parsed())
      return describe.empty() ? mtnlg::host::list_plugins(registry)
                              : mtnlg::host::describe_component(registry, describe);
    if (check->parsed())
      return mtnlg::host::check_recipe(registry, recipe_path, overrides, print, world, no_data);
    if (plan->parsed()) {
      plan_options.json = plan_json;
      return mtnlg::host::plan_recipe(registry, plan_options);
    }
    if (generate->parsed()) {
      gen.checkpoint = checkpoint;
      return mtnlg::host::generate(registry, gen);
    }
    if (eval->parsed()) {
      if (!eval_task.empty()) {
        task_options.checkpoint = eval_checkpoint;
        task_options.task = eval_task;
        task_options.data = eval_data;
        task_options.fewshot_data = eval_fewshot;
        task_options.json = eval_json;
        task_options.batch = eval_options.batch;
        task_options.limit = eval_options.limit;
        task_options.layout = eval_options.layout;
        return mtnlg::host::eval::evaluate_task(registry, task_options);
      }
      if (eval_perplexity.empty()) throw mtnlg::Error("mtnlg eval needs --perplexity PREFIX or --task NAME");
      eval_options.checkpoint = eval_checkpoint;
      eval_options.perplexity = eval_perplexity;
      return mtnlg::host::evaluate_perplexity(registry, eval_options);
    }
    if (convert->parsed()) {
      if (!convert_to.empty()) {
        MTNLG_CHECK(convert_overrides.empty(),
                    "convert --to hf-gpt2 takes no --set: the export is of the checkpoint's model as it is");
        mtnlg::host::export_hf_gpt2(registry, convert_input, convert_output);
      } else if (reshard_tensor->count() + reshard_pipeline->count() + reshard_virtual->count() > 0) {
        reshard.overrides = convert_overrides;
        mtnlg::host::reshard_checkpoint(registry, convert_input, reshard, convert_output);
      } else {
        MTNLG_CHECK(!convert_from.empty(),
                    "convert: say --to hf-gpt2, --from hf-gpt2, or --tensor T --pipeline P (resharding)");
        MTNLG_CHECK(!convert_recipe.empty(),
                    "convert --from hf-gpt2 needs --recipe (the model to import into)");
        mtnlg::host::import_hf_gpt2(registry, convert_input, convert_recipe, convert_overrides,
                                    convert_output);
      }
      std::cout << "wrote " << convert_output << "\n";
      return 0;
    }
    if (train->parsed()) {
      train_options.recipe = recipe_path;
      train_options.overrides = overrides;
      if (steps > 0) train_options.steps = steps;
      train_options.run_dir = run_dir;
      train_options.resume = resume;
      return mtnlg::host::train(registry, train_options);
    }
  } catch (const mtnlg::Error& e) {
    std::cerr << "mtnlg: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "mtnlg: internal error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
