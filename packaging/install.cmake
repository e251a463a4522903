# What `cmake --install` installs, the Debian package CPack builds from it
# (`./run package`), and the test that installs that package (PackageDeb).
include(GNUInstallDirs)

# Man pages and completion scripts, written by the colshift binary just built
# (cmake/generate_docs.cmake) into build/share.
set(COLSHIFT_GENERATED ${CMAKE_BINARY_DIR}/share)
add_custom_command(
  OUTPUT ${COLSHIFT_GENERATED}/stamp
  COMMAND ${CMAKE_COMMAND} -DCOLSHIFT=$<TARGET_FILE:colshift> -DOUT=${COLSHIFT_GENERATED}
          -P ${PROJECT_SOURCE_DIR}/cmake/generate_docs.cmake
  DEPENDS colshift ${PROJECT_SOURCE_DIR}/cmake/generate_docs.cmake
  COMMENT "Generating man pages and shell completions from colshift's command table"
  VERBATIM)
add_custom_target(colshift_generated_docs ALL DEPENDS ${COLSHIFT_GENERATED}/stamp)

install(TARGETS colshift RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The HTTP module serve and the webhook deliverer open (src/http/http.h); the
# binary finds it at ../<libdir>/colshift from its own directory.
install(TARGETS colshift_http LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/colshift)
install(DIRECTORY ${COLSHIFT_GENERATED}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        FILES_MATCHING PATTERN "*.1.gz")
install(FILES ${COLSHIFT_GENERATED}/completions/colshift
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
# Debian's zsh searches vendor-completions under /usr; under another prefix,
# add this directory to $fpath.
install(FILES ${COLSHIFT_GENERATED}/completions/_colshift
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${COLSHIFT_GENERATED}/completions/colshift.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/DESIGN-NOTES.md
              ${PROJECT_SOURCE_DIR}/docs/ci.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/lint/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/lint
        FILES_MATCHING PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/migrations
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# The Debian package. Depends: is computed by dpkg-shlibdeps from the
# libraries the binary and the HTTP module link (libpg-query, libyaml-cpp,
# libfmt, libcpp-httplib, ...), except the two colshift opens with dlopen, so
# dpkg-shlibdeps cannot see them: libpq5 (libpq.so.5) and libssl3
# (libcrypto.so.3), named here (src/pg/libpq.h, src/util/libcrypto.h).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME colshift)
set(CPACK_PACKAGE_VENDOR colshift)
set(CPACK_PACKAGE_CONTACT "colshift maintainers <maintainers@colshift.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "zero-downtime, reversible schema changes for PostgreSQL")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "zero-downtime, reversible schema changes for PostgreSQL
 colshift plans a migration (steps, locks, rollback), runs it on a live database
 without blocking the application (short lock timeouts, throttled backfill,
 dual-write triggers), and lints migration files and raw SQL for dangerous
 changes, with SARIF, GitLab code quality and GitHub annotations output.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libpq5, libssl3")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS postgresql-client)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_THREADS 0)
include(CPack)

# Builds the package into a temporary directory, installs it with dpkg, runs
# the installed colshift, removes it. Skipped (77) when not root, on a system
# without dpkg, or when a colshift package is already installed.
add_test(NAME PackageDeb
         COMMAND ${PROJECT_SOURCE_DIR}/packaging/test-deb.sh ${CMAKE_BINARY_DIR}
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(PackageDeb PROPERTIES LABELS package TIMEOUT 600 SKIP_RETURN_CODE 77)
