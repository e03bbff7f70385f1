// Generic dense layers: enough to build and train a multi-layer perceptron from a recipe.
#include "gelu_layer.hpp"
#include "linear_layer.hpp"
#include "mse_loss_layer.hpp"

namespace {
const mtnlg_key_spec kLinearKeys[] = {
    {"in", MTNLG_KEY_INT, nullptr, "input features (last dimension of x)", nullptr},
    {"out", MTNLG_KEY_INT, nullptr, "output features", nullptr},
    {"bias", MTNLG_KEY_BOOL, "true", "add a learned bias", nullptr},
    {"init_std", MTNLG_KEY_FLOAT, "0.0",
     "standard deviation of the weight initialisation; 0 = model.init_std", nullptr},
    {"partition", MTNLG_KEY_STRING, "\"none\"",
     "tensor parallelism: column (split outputs), row (split inputs) or none (replicated)",
     "none|column|row"},
};
}  // namespace

MTNLG_PLUGIN("layer-dense", "0.1.0",
             mtnlg::component<mtnlg::layers::LinearLayer>("linear", "y = x·Wᵀ + b over the last dimension",
                                                          kLinearKeys),
             mtnlg::component<mtnlg::layers::GeluLayer>("gelu", "GeLU (tanh approximation), elementwise"),
             mtnlg::component<mtnlg::layers::MseLossLayer>("mse_loss",
                                                           "mean squared error against the targets"))
