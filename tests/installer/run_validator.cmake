# cmake -DTOOL=<path or ...-NOTFOUND> -DPACKAGE=<Debian package> -DARGS=<list> -P run_validator.cmake
# Runs a validator; fails (never skips) when the tool is missing, and on any error it reports.
if(NOT TOOL OR NOT EXISTS "${TOOL}")
    message(FATAL_ERROR "validator not found (${TOOL}): install the Debian package '${PACKAGE}' "
                        "(scripts/install-deps.sh does), then re-run cmake")
endif()
execute_process(COMMAND ${TOOL} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${TOOL} ${ARGS}\n${out}${err}")
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${TOOL} failed (exit ${rc})")
endif()
# desktop-file-validate exits 0 on warnings; treat them as failures too (hints are fine).
if("${out}${err}" MATCHES "(error|warning):")
    message(FATAL_ERROR "${TOOL} reported errors or warnings")
endif()
