# llama.cpp, built by scripts/setup from the node-llama-cpp release bundle. Exposes
# ladder::llama (libllama + ggml), ladder::llama_common (json-schema-to-grammar and
# friends; it carries its own vendored nlohmann::json, so only
# src/backends/embedded/gbnf.cpp includes its headers), LADDER_GGML_BACKEND_DIR (the
# folder the CPU backend variants are loaded from at run time) and LLAMA_SERVER_BIN.
#
# scripts/setup builds shared libraries with the CPU backend as run-time variants
# (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS): libllama, libggml*, libllama-common and one
# libggml-cpu-<variant>.so per x86 instruction-set level, all in <build>/bin. They are
# linked by absolute path, so CMake writes that folder into the RUNPATH of build/ladder
# and every test binary: they run from build/ without LD_LIBRARY_PATH. llama-server
# lies in the same folder and finds the libraries and the variants beside itself.
#
# The static layout of earlier set-ups (GGML_NATIVE=OFF archives, the CPU backend linked
# in) is still accepted, so that a second ladder build folder can link such a build and
# bench/model_bench.sh can compare the two in one run.
set(_lb "${LADDER_LLAMA_BUILD}")
if(EXISTS "${_lb}/bin/libllama.so")
  set(LADDER_LLAMA_SHARED ON)
  set(LADDER_GGML_BACKEND_DIR "${_lb}/bin")
  file(GLOB _cpu_variants "${_lb}/bin/libggml-cpu-*.so")
  if(NOT _cpu_variants)
    message(FATAL_ERROR "${_lb}/bin has libllama.so but no libggml-cpu-<variant>.so: rerun scripts/setup")
  endif()
  set(_llama_libs "${_lb}/bin/libllama.so" "${_lb}/bin/libggml.so" "${_lb}/bin/libggml-base.so")
  set(_common_libs "${_lb}/bin/libllama-common.so")
elseif(EXISTS "${_lb}/src/libllama.a")
  set(LADDER_LLAMA_SHARED OFF)
  set(LADDER_GGML_BACKEND_DIR "")
  set(_llama_libs "${_lb}/src/libllama.a" "${_lb}/ggml/src/libggml.a" "${_lb}/ggml/src/libggml-cpu.a"
                  "${_lb}/ggml/src/libggml-base.a")
  set(_common_libs "${_lb}/common/libllama-common.a")
  # A static libllama-common does not carry the cpp-httplib that llama.cpp's own build
  # links it with privately.
  if(EXISTS "${_lb}/vendor/cpp-httplib/libcpp-httplib.a")
    list(APPEND _common_libs "${_lb}/vendor/cpp-httplib/libcpp-httplib.a")
  endif()
else()
  message(FATAL_ERROR "no llama.cpp build in ${_lb} (neither bin/libllama.so nor src/libllama.a): run scripts/setup")
endif()
# llama-common-base (build info) is a static archive in either layout, absent in older releases.
if(EXISTS "${_lb}/common/libllama-common-base.a")
  list(APPEND _common_libs "${_lb}/common/libllama-common-base.a")
endif()
foreach(_lib IN LISTS _llama_libs _common_libs)
  if(NOT EXISTS "${_lib}")
    message(FATAL_ERROR "llama.cpp build ${_lb} lacks ${_lib}: rerun scripts/setup")
  endif()
endforeach()
message(STATUS "llama.cpp: ${_lb} (shared with CPU variants: ${LADDER_LLAMA_SHARED})")

add_library(ladder_llama INTERFACE)
target_include_directories(ladder_llama SYSTEM INTERFACE
  "${LADDER_LLAMA_SRC}/include" "${LADDER_LLAMA_SRC}/ggml/include")
target_link_libraries(ladder_llama INTERFACE ${_llama_libs} Threads::Threads dl m)
add_library(ladder::llama ALIAS ladder_llama)

add_library(ladder_llama_common INTERFACE)
target_include_directories(ladder_llama_common SYSTEM INTERFACE
  "${LADDER_LLAMA_SRC}/common" "${LADDER_LLAMA_SRC}/vendor")
target_link_libraries(ladder_llama_common INTERFACE ${_common_libs} ladder_llama)
add_library(ladder::llama_common ALIAS ladder_llama_common)
set(LLAMA_SERVER_BIN "${_lb}/bin/llama-server")
