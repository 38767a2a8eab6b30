#!/bin/sh
# Called by meson.build: builds the plugin with cargo and copies it to meson's output.
# Usage: meson-cargo-build.sh CARGO SOURCE_DIR TARGET_DIR PROFILE OUTPUT
set -eu
cargo="$1"; src="$2"; target="$3"; profile="$4"; out="$5"
if [ "$profile" = release ]; then flag=--release; else flag=; fi
"$cargo" build --locked $flag --lib --manifest-path "$src/Cargo.toml" --target-dir "$target"
cp "$target/$profile/libgstrsvision.so" "$out"
