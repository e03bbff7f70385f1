#pragma once
// Symbols of the SDK core library (libmtnlg_sdk.so) keep default visibility even though plugins are built
// with -fvisibility=hidden: the interfaces' key functions (virtual destructors) live there once, so their
// RTTI and vtables are unique in the process.
#define MTNLG_SDK_API __attribute__((visibility("default")))
