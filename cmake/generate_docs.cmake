# Writes what `cmake --install` ships besides the binary, by running the
# binary itself, so the pages and scripts always match its --help:
#   OUT/man/colshift.1, colshift-NAME.1 (and .gz of each)
#   OUT/completions/colshift (bash), _colshift (zsh), colshift.fish
#
#   cmake -DCOLSHIFT=build/colshift -DOUT=build/share -P generate_docs.cmake
file(REMOVE_RECURSE ${OUT}/man ${OUT}/completions)
file(MAKE_DIRECTORY ${OUT}/man ${OUT}/completions)

execute_process(COMMAND ${COLSHIFT} manpages --out ${OUT}/man RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "colshift manpages failed (${rc})")
endif()
file(GLOB pages ${OUT}/man/*.1)
# -n: no name or time stamp in the .gz, so the bytes depend on the text alone.
execute_process(COMMAND gzip -9nkf ${pages} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip of the man pages failed (${rc})")
endif()

foreach(pair "bash;colshift" "zsh;_colshift" "fish;colshift.fish")
  list(GET pair 0 shell)
  list(GET pair 1 name)
  execute_process(COMMAND ${COLSHIFT} completion ${shell} OUTPUT_FILE ${OUT}/completions/${name}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "colshift completion ${shell} failed (${rc})")
  endif()
endforeach()
file(TOUCH ${OUT}/stamp)
