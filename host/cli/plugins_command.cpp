#include "cli/plugins_command.hpp"

#include <cstdio>
#include <iostream>

#include "mtnlg/backend.hpp"
#include "mtnlg/str.hpp"
#include "recipe/validate.hpp"

namespace mtnlg::host {

int list_plugins(const Registry& registry) {
  std::cout << "Plugins: " << registry.plugins().size() << " loaded, " << registry.refusals().size()
            << " refused. Host ABI " << kAbiVersion << ", fingerprint " << fingerprint_str(abi_fingerprint())
            << "\n";
  for (const auto& p : registry.plugins()) {
    std::cout << "\n"
              << p->name << " " << p->version << "  (ABI " << p->abi_version << ", fingerprint "
              << fingerprint_str(p->abi_fingerprint) << ", " << p->origin << ")\n  " << p->path.string()
              << "\n";
    for (std::size_t i = 0; i < p->descriptor->component_count; ++i) {
      const auto& c = p->descriptor->components[i];
      char line[256];
      std::snprintf(line, sizeof line, "    %-10s %-22s %s\n", c.kind, c.name, c.summary ? c.summary : "");
      std::cout << line;
      if (const ComponentRecord* rec = registry.find(c.kind, c.name);
          rec != nullptr && rec->plugin == p.get())
        if (const std::string why = rec->unavailable_reason(); !why.empty())
          std::cout << "               unavailable here: " << why << "\n";
    }
  }
  if (!registry.refusals().empty()) {
    std::cout << "\nRefused:\n";
    for (const auto& r : registry.refusals())
      std::cout << "  " << r.path.string() << " (" << r.origin << "): " << r.reason << "\n";
  }
  return 0;
}

int describe_component(const Registry& registry, const std::string& name) {
  const auto slash = name.find('/');
  const std::string kind = slash == std::string::npos ? "" : name.substr(0, slash);
  const std::string bare = slash == std::string::npos ? name : name.substr(slash + 1);
  std::vector<const ComponentRecord*> matches;
  for (const auto* c : registry.components())
    if (c->name == bare && (kind.empty() || c->kind == kind)) matches.push_back(c);
  if (matches.empty()) {
    std::string known;
    for (const auto* c : registry.components())
      known += (known.empty() ? "" : ", ") + c->kind + "/" + c->name;
    fail(str("no component named '", name, "'; known: ", known));
  }
  for (const auto* c : matches) {
    std::cout << c->kind << " '" << c->name << "': " << c->summary << "\n  from plugin '" << c->plugin->name
              << "' " << c->plugin->version << " (" << c->plugin->path.string() << ")\n";
    if (c->keys.empty()) {
      std::cout << "  recipe keys: none\n";
    } else {
      std::cout << "  recipe keys:\n";
      for (const auto& k : c->keys) {
        char line[512];
        std::snprintf(line, sizeof line, "    %-16s %-8s %-12s %s%s%s\n", k.name,
                      std::string(key_type_name(k.type)).c_str(),
                      k.default_toml ? k.default_toml : "(required)", k.doc ? k.doc : "",
                      k.choices ? "; one of " : "", k.choices ? k.choices : "");
        std::cout << line;
      }
    }
    if (const std::string why = c->unavailable_reason(); !why.empty()) {
      std::cout << "  unavailable on this machine: " << why << "\n";
    } else if (c->kind == Backend::kKind) {
      // A backend's ops are only known to an instance; build one with its defaults.
      Table params, recipe;
      recipe::validate_table(params, str("[backend] (", c->name, ")"), c->keys);
      auto backend = registry.create_as<Backend>(*c, CreateArgs{params, recipe});
      std::cout << "  ops:\n";
      for (const auto& op : backend->op_names()) std::cout << "    " << op << "\n";
    }
  }
  return 0;
}

}  // namespace mtnlg::host
