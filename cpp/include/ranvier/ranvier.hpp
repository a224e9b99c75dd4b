// ranvier: fast CPU training and inference of MLPs. The whole public C++ API:
//   ranvier/model.hpp  -- ranvier::Model (build, train, save, load, predict)
//   ranvier/c_api.h    -- a small C API for C, Rust, Go, C# (load, predict)
// Link with the CMake target ranvier::ranvier (find_package(ranvier)).
#pragma once

#include "ranvier/c_api.h"
#include "ranvier/model.hpp"
