# Embeds a text file into C++ as a raw string literal.
# cmake -DINPUT=file -DOUTPUT=file.cpp -DSYMBOL=name -P embed_file.cmake
file(READ "${INPUT}" content)
string(FIND "${content}" ")orderpulse\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )orderpulse\"")
endif()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${INPUT} by cmake/embed_file.cmake. Do not edit.\n#include <string_view>\nnamespace orderpulse {\nextern const std::string_view ${SYMBOL};\nconst std::string_view ${SYMBOL} = R\"orderpulse(${content})orderpulse\";\n}  // namespace orderpulse\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
