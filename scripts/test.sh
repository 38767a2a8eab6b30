#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine: installs what is missing
# (scripts/setup.sh --test), checks formatting and lints, builds, and runs every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh --test

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "== cargo test"
# One test binary at a time keeps the 2-core machine's pipelines near real time; tests
# inside a binary still run in parallel.
cargo test --locked --workspace --no-fail-fast -- --test-threads="${RSVISION_TEST_THREADS:-2}"
