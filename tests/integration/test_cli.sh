#!/usr/bin/env bash
# The vigil command's conventions: --help, --version, exit codes.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "vigil --version exits 0" "$BIN/vigil" --version
expect_match "version line" '^vigil [0-9]+\.[0-9]+\.[0-9]+$' "$OUT"
expect_exit 0 "vigil --help exits 0" "$BIN/vigil" --help
expect_match "help lists measure" 'measure' "$OUT"
expect_match "help lists verify" 'verify' "$OUT"
expect_exit 2 "no command is a usage error" "$BIN/vigil"
expect_exit 2 "unknown command is a usage error" "$BIN/vigil" frobnicate
expect_match "unknown command is named" "unknown command 'frobnicate'" "$ERR"
finish
