# The fuzz targets, one per parser of city backend replies, shared by fuzz/CMakeLists.txt (libFuzzer
# binaries; clang, INTEROP_BUILD_FUZZERS) and tests/fuzz/CMakeLists.txt (every build: each target's
# LLVMFuzzerTestOneInput run over its seed corpus fuzz/corpus/<name>/).
#
# To add a target: write fuzz/<name>.cc, add <name> to INTEROP_FUZZ_TARGETS, set
# INTEROP_FUZZ_LIBS_<name> (and INTEROP_FUZZ_EMBED_<name> for files it compiles in, as
# SYMBOL=path-from-the-repository-root), and check in a few seeds in fuzz/corpus/<name>/.
set(INTEROP_FUZZ_TARGETS money_fuzzer date_fuzzer text_decoding_fuzzer reply_translation_fuzzer lvliang_reply_fuzzer
  lvliang_workflow_reply_fuzzer)

set(INTEROP_FUZZ_LIBS_money_fuzzer interop_city_dialect)
set(INTEROP_FUZZ_LIBS_date_fuzzer interop_city_dialect)
set(INTEROP_FUZZ_LIBS_text_decoding_fuzzer interop_city_dialect)
set(INTEROP_FUZZ_LIBS_reply_translation_fuzzer interop_grpc_backend_adapter interop_city_dialect)
set(INTEROP_FUZZ_EMBED_reply_translation_fuzzer
  kTaiyuanDialect=adapters/taiyuan/dialect.textproto
  kYangquanDialect=adapters/yangquan/dialect.textproto
  kJinzhongDialect=adapters/jinzhong/dialect.textproto
  kXinzhouDialect=adapters/xinzhou/dialect.textproto
  kLvliangDialect=adapters/lvliang/dialect.textproto)
# Lvliang's HTTP/JSON national-interface replies (adapters/lvliang/national_interface.h).
set(INTEROP_FUZZ_LIBS_lvliang_reply_fuzzer interop_lvliang_national_interface interop_city_dialect)
set(INTEROP_FUZZ_EMBED_lvliang_reply_fuzzer kLvliangDialect=adapters/lvliang/dialect.textproto)
# Lvliang's replies to the household migration and pension transfer steps (L9302 ... L9304, L9202 ...
# L9206) and to certificate signing (L9401).
set(INTEROP_FUZZ_LIBS_lvliang_workflow_reply_fuzzer interop_lvliang_national_interface interop_city_dialect)
set(INTEROP_FUZZ_EMBED_lvliang_workflow_reply_fuzzer kLvliangDialect=adapters/lvliang/dialect.textproto)

# interop_setup_fuzz_target(TARGET target NAME name): gives `target`, an executable built from
# fuzz/<name>.cc, the libraries and embedded files fuzz target `name` needs.
function(interop_setup_fuzz_target)
  cmake_parse_arguments(ARG "" "TARGET;NAME" "" ${ARGN})
  target_link_libraries(${ARG_TARGET} PRIVATE ${INTEROP_FUZZ_LIBS_${ARG_NAME}})
  foreach(entry IN LISTS INTEROP_FUZZ_EMBED_${ARG_NAME})
    string(REPLACE "=" ";" parts "${entry}")
    list(GET parts 0 symbol)
    list(GET parts 1 path)
    interop_embed_file(TARGET ${ARG_TARGET} FILE "${PROJECT_SOURCE_DIR}/${path}" SYMBOL ${symbol})
  endforeach()
endfunction()
