#include "mtnlg/component.hpp"

namespace mtnlg {

Component::~Component() = default;

}  // namespace mtnlg
