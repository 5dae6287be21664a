# LADDER_FUZZ=ON (scripts/fuzz): every module is compiled by clang with libFuzzer's
# coverage instrumentation, AddressSanitizer and UndefinedBehaviorSanitizer (UBSan
# errors abort, so libFuzzer keeps them as crashes). Included before the modules so the
# flags reach all of them. llama.cpp, built by gcc without sanitizers, stays out: the
# embedded backend is not built, and neither are tests and benchmarks (they need it).
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "LADDER_FUZZ needs clang's libFuzzer: configure with -DCMAKE_C_COMPILER=clang "
                      "-DCMAKE_CXX_COMPILER=clang++ (or run scripts/fuzz)")
endif()
set(LADDER_SANITIZERS address,undefined)
add_compile_options(-fsanitize=fuzzer-no-link,${LADDER_SANITIZERS} -fno-sanitize-recover=all
                    -fno-omit-frame-pointer -g)
add_link_options(-fsanitize=${LADDER_SANITIZERS})
set(LADDER_BUILD_TESTS OFF)
set(LADDER_BUILD_BENCH OFF)
