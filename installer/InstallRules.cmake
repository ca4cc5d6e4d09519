# Install rules beyond the targets' own (bin/ditstudio, bin/ditstudio-cli in app/CMakeLists.txt;
# the engine module in lib/ditstudio in backend/CMakeLists.txt). All destinations are relative to
# the prefix; the programs look for these files relative to their own folder (bin/../share/ditstudio,
# see defaultModelPath() in backend/src/pipeline/engine.cpp and ui/engine/engine_module.cpp).

set(DITSTUDIO_INSTALLER_DIR ${CMAKE_CURRENT_LIST_DIR})
set(DITSTUDIO_APP_ID io.github.ditstudio.DiTStudio)

# The embedded default model and the evaluation classifier (not the training state).
install(FILES
            ${PROJECT_SOURCE_DIR}/resources/models/ditstudio-fmnist.safetensors
            ${PROJECT_SOURCE_DIR}/resources/models/fmnist-classifier.safetensors
            ${PROJECT_SOURCE_DIR}/resources/models/MODEL_CARD.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/ditstudio/models)

if(UNIX AND NOT APPLE)
    install(FILES ${DITSTUDIO_INSTALLER_DIR}/${DITSTUDIO_APP_ID}.desktop
            DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
    install(FILES ${DITSTUDIO_INSTALLER_DIR}/${DITSTUDIO_APP_ID}.metainfo.xml
            DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)
    install(FILES ${DITSTUDIO_INSTALLER_DIR}/icons/ditstudio.svg
            DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
    foreach(size 16 22 24 32 48 64 128 256 512)
        install(FILES ${DITSTUDIO_INSTALLER_DIR}/icons/hicolor/${size}x${size}/apps/ditstudio.png
                DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps)
    endforeach()

    # Manual pages and Debian's documentation files, gzipped with -n (no timestamp: reproducible)
    # at configure time.
    find_program(DITSTUDIO_GZIP gzip REQUIRED)
    set(gz_dir ${CMAKE_BINARY_DIR}/installer)
    file(MAKE_DIRECTORY ${gz_dir})
    foreach(src ditstudio-cli.1 ditstudio.1 debian/changelog)
        get_filename_component(name ${src} NAME)
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${DITSTUDIO_INSTALLER_DIR}/${src})
        execute_process(COMMAND ${DITSTUDIO_GZIP} -9 -n -c ${DITSTUDIO_INSTALLER_DIR}/${src}
                        OUTPUT_FILE ${gz_dir}/${name}.gz RESULT_VARIABLE gz_rc)
        if(NOT gz_rc EQUAL 0)
            message(FATAL_ERROR "installer: gzip ${DITSTUDIO_INSTALLER_DIR}/${src} failed")
        endif()
    endforeach()
    install(FILES ${gz_dir}/ditstudio-cli.1.gz ${gz_dir}/ditstudio.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
    install(FILES ${gz_dir}/changelog.gz ${DITSTUDIO_INSTALLER_DIR}/debian/copyright
            DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/ditstudio)
    install(FILES ${DITSTUDIO_INSTALLER_DIR}/debian/ditstudio.lintian-overrides
            DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME ditstudio)
endif()
