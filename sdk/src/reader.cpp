#include "mtnlg/reader.hpp"

namespace mtnlg {

Reader::~Reader() = default;

Batch Reader::read(const BatchRequest& request) {
  Batch batch;
  MTNLG_GUARDED(component_label(), batch = do_read(request));
  return batch;
}

}  // namespace mtnlg
