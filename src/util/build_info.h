// What this binary was built from. Defined in a file that cmake/build_info.cmake
// generates at every build (build/generated/build_info.cc).
#pragma once

namespace colshift::build_info {

// project(VERSION) in CMakeLists.txt, e.g. "0.1.0".
extern const char kVersion[];
// The full git commit hash of the source tree, with "-dirty" when tracked files
// differed from it; -DCOLSHIFT_GIT_COMMIT=... when given; "unknown" when built
// outside a git work tree (a source tarball).
extern const char kCommit[];

}  // namespace colshift::build_info
