// A shared library that is not an mtnlg plugin: no entry point.
extern "C" int not_an_mtnlg_plugin() {
  return 42;
}
