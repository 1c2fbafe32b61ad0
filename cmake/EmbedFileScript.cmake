# Writes the bytes of IN as a C++ array named SYMBOL into OUT (run by interop_embed_file).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" bytes "${hex}")
file(WRITE "${OUT}" "#include <cstddef>\nextern const char ${SYMBOL}[];\nextern const std::size_t ${SYMBOL}_size;\nconst char ${SYMBOL}[] = \"${bytes}\";\nconst std::size_t ${SYMBOL}_size = ${size};\n")
