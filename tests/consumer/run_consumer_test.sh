#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds a tiny outside program
# against it twice: with find_package(gemmagguf) (shared and static) and with
# pkg-config. usage: run_consumer_test.sh BUILD_DIR SAMPLE.gguf
set -euo pipefail
build=$(cd "$1" && pwd)
sample=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$build/consumer-work
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$here" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log"
cmake --build "$work/cmake-build" > "$work/build.log"
LD_LIBRARY_PATH="$work/prefix/lib" "$work/cmake-build/consumer_shared" "$sample"
"$work/cmake-build/consumer_static" "$sample"
libdir=$(ls -d "$work"/prefix/lib*/pkgconfig | head -1)
export PKG_CONFIG_PATH=$libdir
cc "$here/main.c" $(pkg-config --cflags gemmagguf) $(pkg-config --libs gemmagguf) -o "$work/consumer_pkgconfig"
LD_LIBRARY_PATH="$(dirname "$libdir")" "$work/consumer_pkgconfig" "$sample"
echo "install consumer: find_package (shared, static) and pkg-config all passed"
