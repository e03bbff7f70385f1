#pragma once
// Message building without a formatting library in the SDK: mtnlg::str("bad shape ", n, " at ", where).
#include <sstream>
#include <string>

namespace mtnlg {

template <class... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

}  // namespace mtnlg
