# Installing and packaging DiT Studio (included at the end of the top-level CMakeLists.txt).
#
#   cmake --build build/release --target package     # or `make package` at the top level
#
# writes the installer into dist/: a Debian package on Linux (dist/ditstudio_<version>_<arch>.deb,
# tested here: lintian, apt install, installer/test-deb.sh), an NSIS installer on Windows and a
# DragNDrop disk image on macOS (both configured but untested: no such machine here).
#
# Everything is installed relative to the prefix, and the programs find their files relative to
# their own location (bin/../lib/ditstudio, bin/../share/ditstudio), so a package never depends on
# the build folder and the prefix can change between configuring and packaging.

include(GNUInstallDirs)
# Folders the install creates are world-readable whatever the umask (lintian checks 0755).
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
include(${CMAKE_CURRENT_LIST_DIR}/InstallRules.cmake)

set(CPACK_PACKAGE_NAME "ditstudio")
set(CPACK_PACKAGE_VENDOR "The DiT Studio developers")
set(CPACK_PACKAGE_CONTACT "DiT Studio developers <maintainers@users.noreply.github.com>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "desktop studio for Diffusion Transformers")
set(CPACK_PACKAGE_DESCRIPTION_FILE ${CMAKE_CURRENT_LIST_DIR}/debian/description.txt)
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/ditstudio/ditstudio")
set(CPACK_PACKAGE_INSTALL_DIRECTORY "DiT Studio")
set(CPACK_PACKAGE_EXECUTABLES "ditstudio;DiT Studio")
set(CPACK_PACKAGE_ICON ${CMAKE_CURRENT_LIST_DIR}/icons/hicolor/128x128/apps/ditstudio.png)
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_CURRENT_LIST_DIR}/debian/copyright)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_SOURCE_DIR}/dist)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_GENERATOR "")

if(WIN32)
    # Untested here. NSIS: a per-machine installer with a Start menu entry; the DLLs LibTorch,
    # Qt (windeployqt), OpenCV, FFmpeg and libcurl need must be installed beside the executables
    # (the CI workflow .github/workflows/desktop.yml shows how they are collected).
    set(CPACK_GENERATOR "NSIS")
    set(CPACK_NSIS_DISPLAY_NAME "DiT Studio")
    set(CPACK_NSIS_PACKAGE_NAME "DiT Studio ${PROJECT_VERSION}")
    set(CPACK_NSIS_MUI_ICON ${CMAKE_CURRENT_LIST_DIR}/icons/ditstudio.ico)
    set(CPACK_NSIS_INSTALLED_ICON_NAME "bin\\\\ditstudio.exe")
    set(CPACK_NSIS_MODIFY_PATH ON)
    set(CPACK_NSIS_ENABLE_UNINSTALL_BEFORE_INSTALL ON)
    set(CPACK_NSIS_URL_INFO_ABOUT ${CPACK_PACKAGE_HOMEPAGE_URL})
elseif(APPLE)
    # Untested here. DragNDrop: a .dmg with the DiTStudio.app bundle (macdeployqt fills Frameworks/).
    set(CPACK_GENERATOR "DragNDrop")
    set(CPACK_DMG_VOLUME_NAME "DiT Studio")
    set(CPACK_DMG_FORMAT "UDZO")
else()
    set(CPACK_GENERATOR "DEB")
    set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
    set(CPACK_DEBIAN_PACKAGE_NAME "ditstudio")
    # ditstudio_<version>_<arch>.deb
    set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
    set(CPACK_DEBIAN_PACKAGE_SECTION "graphics")
    set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
    set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
    set(CPACK_DEBIAN_PACKAGE_HOMEPAGE ${CPACK_PACKAGE_HOMEPAGE_URL})
    # Library dependencies come from dpkg-shlibdeps over every ELF file in the package, the engine
    # module in lib/ditstudio included (a private directory: -l makes dpkg-shlibdeps accept it).
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
    # dpkg-shlibdeps runs in the staging root, so the path is the package's own lib/ditstudio.
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "usr/${DITSTUDIO_ENGINE_INSTALL_DIR}")
    # What dpkg-shlibdeps cannot see because it is loaded at run time: Qt's platform plugins (xcb)
    # and SQLite driver (the history), and the optimized BLAS LibTorch picks up.
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-qpa-plugins, libqt6sql6-sqlite")
    set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-pthread, fonts-dejavu-core")
    set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
endif()

include(CPack)

# `package-test` (make package-test at the top level): install the package, use it, purge it.
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    add_custom_target(package-test
        COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test-deb.sh ${PROJECT_VERSION}
        WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
        USES_TERMINAL
        COMMENT "installer/test-deb.sh: install, run and purge the Debian package")
endif()
