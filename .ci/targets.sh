# The platforms share is built for, and the environment each needs; sourced
# by .ci/crossbuild and .ci/release so both build the same set the same way.
#
# A target is GOOS/GOARCH, with /cgo for a cgo build: the smartcard needs
# cgo everywhere but on Windows. linux/arm64/cgo needs a C cross compiler
# and the arm64 pcsclite library (Debian: dpkg --add-architecture arm64,
# then gcc-aarch64-linux-gnu libc6-dev-arm64-cross libpcsclite-dev:arm64).
# macOS and FreeBSD have no C cross compiler here, so they build without cgo.

all_targets=(
  linux/amd64/cgo linux/amd64
  linux/arm64/cgo linux/arm64
  darwin/amd64 darwin/arm64
  windows/amd64 windows/arm64
  freebsd/amd64
)

# target_env prints the NAME=value words of one target's build
# environment. It returns 2 for a malformed target and 3 when this machine
# lacks the C cross compiler a cgo target needs.
target_env() {
  local goos arch cgo
  IFS=/ read -r goos arch cgo <<<"$1"
  if [ -z "$goos" ] || [ -z "$arch" ] || { [ -n "$cgo" ] && [ "$cgo" != cgo ]; }; then
    echo "bad target $1: want GOOS/GOARCH or GOOS/GOARCH/cgo" >&2
    return 2
  fi
  echo "GOOS=$goos GOARCH=$arch"
  if [ "$cgo" != cgo ]; then
    echo "CGO_ENABLED=0"
    return 0
  fi
  echo "CGO_ENABLED=1"
  if [ "$goos/$arch" = "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" ]; then
    return 0
  fi
  case $goos/$arch in
    linux/arm64)
      if ! command -v aarch64-linux-gnu-gcc >/dev/null ||
        [ ! -e /usr/lib/aarch64-linux-gnu/pkgconfig/libpcsclite.pc ]; then
        echo "no arm64 C cross compiler (gcc-aarch64-linux-gnu) or libpcsclite-dev:arm64" >&2
        return 3
      fi
      echo "CC=aarch64-linux-gnu-gcc PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig"
      ;;
    *)
      echo "no C cross compiler known for $goos/$arch" >&2
      return 3
      ;;
  esac
}
