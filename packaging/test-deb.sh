#!/usr/bin/env bash
# PackageDeb: build the .deb with CPack, install it with dpkg, run the
# installed colshift (--version, lint and plan --offline on an installed
# example migration, man pages, completions), then remove the package.
#
#   packaging/test-deb.sh BUILD_DIR SOURCE_DIR
#
# Exit 77 (ctest: skipped) when not root, without dpkg, or when a colshift
# package is already installed (this test never replaces one it did not
# install). CI runs as root on Debian 12, where it runs.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "installing the .deb needs root (CI runs as root); as root: ctest -R PackageDeb"
command -v dpkg >/dev/null && command -v dpkg-shlibdeps >/dev/null ||
  skip "no dpkg / dpkg-shlibdeps (not Debian, or dpkg-dev missing: ./run build installs it)"
if dpkg-query -W -f='${Status}' colshift 2>/dev/null | grep -q "install ok installed"; then
  skip "a colshift package is already installed; this test will not replace it (dpkg -r colshift)"
fi

start=$(date +%s)
work=$(mktemp -d /tmp/colshift-deb.XXXXXX)
installed=0
cleanup() {
  if ((installed)); then dpkg -r colshift >/dev/null 2>&1 || echo "could not remove colshift" >&2; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cpack --config "$BUILD/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/out/colshift_*.deb) || { cat "$work/cpack.log"; fail "no .deb"; }
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"

# Depends: computed by dpkg-shlibdeps, so it names the runtime libraries.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libstdc++6 libpq5 libpg-query libyaml-cpp libfmt libssl3; do
  [[ $depends == *"$lib"* ]] || fail "Depends does not name $lib"
done

dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i"; }
installed=1

# From the installed files only: a clean environment, outside the source tree.
cd "$work"
inst() { env -i PATH=/usr/bin:/bin HOME="$work" LANG=C.UTF-8 "$@"; }
[[ $(inst sh -c 'command -v colshift') == /usr/bin/colshift ]] || fail "colshift is not /usr/bin/colshift"
if inst ldd /usr/bin/colshift | grep -q "not found"; then inst ldd /usr/bin/colshift; fail "unresolved libraries"; fi
# The HTTP module serve and webhooks open, where the binary looks for it.
module=$(dpkg -L colshift | grep '/colshift/colshift-http\.so$') || fail "no colshift-http.so installed"
if inst ldd "$module" | grep -q "not found"; then inst ldd "$module"; fail "module: unresolved libraries"; fi

version=$(inst colshift --version)
echo "$version"
[[ $version == "$("$BUILD/colshift" --version)" ]] || fail "--version differs from the build's"
[[ $(sed -n 1p <<<"$version") =~ ^colshift\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "version line"
[[ $(sed -n 2p <<<"$version") =~ ^commit\ ([0-9a-f]{40}(-dirty)?|unknown)$ ]] || fail "commit line"
[[ $(sed -n 3p <<<"$version") =~ ^PostgreSQL\ parser\ [0-9]+\.[0-9]+\ \(libpg_query,\ PG_VERSION_NUM\ [0-9]{6}\)$ ]] ||
  fail "parser line"

example=/usr/share/doc/colshift/examples/migrations/0001_users_email_domain.yaml
[[ -f $example ]] || fail "no installed example migration at $example"
lint=$(inst colshift lint "$example") || fail "colshift lint $example: exit $?: $lint"
echo "$lint" | tail -1
[[ $lint == *"1 file, "* ]] || fail "lint summary: $lint"
plan=$(inst colshift plan --offline "$example") || fail "colshift plan --offline: exit $?: $plan"
[[ $plan == *"add column users.email_domain text"* && $plan == *"rollback plan"* ]] ||
  fail "plan --offline: $plan"

for page in colshift colshift-lint colshift-plan colshift-completion; do
  f=/usr/share/man/man1/$page.1.gz
  [[ -f $f ]] || fail "no man page $f"
  zcat "$f" | grep -q '^\.TH' || fail "$f is not a man page"
done
[[ -f /usr/share/man/man1/colshift-manpages.1.gz ]] && fail "the hidden manpages command has a page"
inst bash -c 'source /usr/share/bash-completion/completions/colshift && complete -p colshift' >/dev/null ||
  fail "bash completion does not load"
[[ -f /usr/share/zsh/vendor-completions/_colshift ]] || fail "no zsh completion"
[[ -f /usr/share/fish/vendor_completions.d/colshift.fish ]] || fail "no fish completion"
[[ -f /usr/share/doc/colshift/README.md && -f /usr/share/doc/colshift/lint/README.md ]] ||
  fail "docs not installed"

dpkg -r colshift >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -r"; }
installed=0
[[ ! -e /usr/bin/colshift ]] || fail "/usr/bin/colshift left after dpkg -r"
echo "PackageDeb: built, installed, ran and removed in $(($(date +%s) - start)) s"
