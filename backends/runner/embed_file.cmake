# cmake -DINPUT=file -DOUTPUT=file.cc -DSYMBOL=name -DNAMESPACE=ns -P embed_file.cmake
# Writes OUTPUT defining `extern const char SYMBOL[]` in namespace NAMESPACE = INPUT's bytes, as
# a raw string literal.
file(READ ${INPUT} content)
string(FIND "${content}" ")__embed__" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter")
endif()
file(WRITE ${OUTPUT} "// Generated from ${INPUT} by embed_file.cmake. Do not edit.\n"
  "namespace ${NAMESPACE} {\n"
  "extern const char ${SYMBOL}[];\n"
  "const char ${SYMBOL}[] = R\"__embed__(${content})__embed__\";\n"
  "}  // namespace ${NAMESPACE}\n")
