# llama.cpp, built by scripts/setup from the node-llama-cpp release bundle, linked
# statically. Exposes ladder::llama (libllama + ggml) and ladder::llama_common
# (json-schema-to-grammar and friends; it carries its own vendored nlohmann::json, so
# only src/backends/embedded/gbnf.cpp includes its headers).
set(_lb "${LADDER_LLAMA_BUILD}")
find_library(LLAMA_LIB llama PATHS "${_lb}/src" "${_lb}/bin" NO_DEFAULT_PATH REQUIRED)
find_library(GGML_LIB ggml PATHS "${_lb}/ggml/src" NO_DEFAULT_PATH REQUIRED)
find_library(GGML_BASE_LIB ggml-base PATHS "${_lb}/ggml/src" NO_DEFAULT_PATH REQUIRED)
find_library(GGML_CPU_LIB ggml-cpu PATHS "${_lb}/ggml/src" NO_DEFAULT_PATH REQUIRED)
find_library(LLAMA_COMMON_LIB llama-common PATHS "${_lb}/common" NO_DEFAULT_PATH REQUIRED)
find_library(LLAMA_COMMON_BASE_LIB llama-common-base PATHS "${_lb}/common" NO_DEFAULT_PATH)

add_library(ladder_llama INTERFACE)
target_include_directories(ladder_llama SYSTEM INTERFACE
  "${LADDER_LLAMA_SRC}/include" "${LADDER_LLAMA_SRC}/ggml/include")
target_link_libraries(ladder_llama INTERFACE
  "${LLAMA_LIB}" "${GGML_LIB}" "${GGML_CPU_LIB}" "${GGML_BASE_LIB}" Threads::Threads dl m)
add_library(ladder::llama ALIAS ladder_llama)

add_library(ladder_llama_common INTERFACE)
target_include_directories(ladder_llama_common SYSTEM INTERFACE
  "${LADDER_LLAMA_SRC}/common" "${LADDER_LLAMA_SRC}/vendor")
set(_common_libs "${LLAMA_COMMON_LIB}")
if(LLAMA_COMMON_BASE_LIB)
  list(APPEND _common_libs "${LLAMA_COMMON_BASE_LIB}")
endif()
target_link_libraries(ladder_llama_common INTERFACE ${_common_libs} ladder_llama)
add_library(ladder::llama_common ALIAS ladder_llama_common)
set(LLAMA_SERVER_BIN "${_lb}/bin/llama-server")
