# mtnlg_add_plugin(<target> SOURCES <src>... [LIBRARIES <lib>...] [OUTPUT_DIRECTORY <dir>] [INSTALL_DESTINATION <dir>]
#                  [IMPLEMENTATION <src>...])
#
# Builds a plugin library as the host requires: a shared module linked against mtnlg::sdk, hidden visibility
# (only the Boost.DLL entry alias is exported) and --no-undefined, so a missing symbol fails at link time,
# not when the host loads the library. The same function builds mtnlg's own plugins and third-party ones.
#
# With IMPLEMENTATION, the plugin is split as mtnlg/deferred_plugin.hpp describes: SOURCES (the descriptor,
# using mtnlg::deferred::component) link only the SDK, and the IMPLEMENTATION sources with LIBRARIES become
# the module <target>-impl.so next to it, which the plugin loads when its component is first needed.
function(mtnlg_add_plugin target)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES;LIBRARIES;IMPLEMENTATION" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "mtnlg_add_plugin(${target}): SOURCES is required")
  endif()
  if(ARG_IMPLEMENTATION)
    set(forwarded)
    foreach(key OUTPUT_DIRECTORY INSTALL_DESTINATION)
      if(ARG_${key})
        list(APPEND forwarded ${key} ${ARG_${key}})
      endif()
    endforeach()
    mtnlg_add_plugin(${target}-impl SOURCES ${ARG_IMPLEMENTATION} LIBRARIES ${ARG_LIBRARIES} ${forwarded})
    set_target_properties(${target}-impl PROPERTIES PREFIX "")  # not lib*.so: the host's scan passes it by
    mtnlg_add_plugin(${target} SOURCES ${ARG_SOURCES} ${forwarded})
    add_dependencies(${target} ${target}-impl)
    return()
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE mtnlg::sdk ${ARG_LIBRARIES})
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  set_target_properties(${target} PROPERTIES
    PREFIX "lib" CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    INSTALL_RPATH "$ORIGIN/../..")
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
  if(ARG_INSTALL_DESTINATION)
    install(TARGETS ${target} LIBRARY DESTINATION ${ARG_INSTALL_DESTINATION})
  endif()
endfunction()
