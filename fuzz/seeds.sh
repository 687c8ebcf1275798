#!/usr/bin/env bash
# Regenerates the seed corpus in seeds/: the hand-written seeds (harness/src/seeds.rs), and one
# seed per compat test, converted from the system calls it makes in oxv (`oxv run --strace`).
# Needs gcc and what `cargo oxv run` needs (QEMU); OXV_KERNEL is honoured as by `oxv run`.
#
#   fuzz/seeds.sh [PREFIX...]   only the compat tests whose names start with a PREFIX (all
#                               without one); the hand-written seeds are always rewritten
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
cargo run --quiet -p oxv-fuzz-harness --bin oxv-fuzz-seeds -- hand .
cargo build --quiet --manifest-path "$root/Cargo.toml" -p oxv-cli --bin oxv
oxv="$root/target/debug/oxv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for src in "$root"/compat-tests/*.c; do
    name=$(basename "$src" .c)
    if [ $# -gt 0 ]; then
        keep=0
        for prefix in "$@"; do
            case "$name" in "$prefix"*) keep=1 ;; esac
        done
        [ "$keep" = 1 ] || continue
    fi
    gcc -static -O2 -I"$root/compat-tests" -o "$work/$name" "$src"
    # The test's own configuration (see crates/cli/src/compat/header.rs), simplified: words
    # split on spaces, @DATA@ substituted, files passed at their absolute host paths.
    args=$(sed -n 's|^// oxv-args: ||p' "$src" | sed "s|@DATA@|$root/compat-tests/data|g" | tr '\n' ' ')
    files=()
    while read -r f; do
        [ -n "$f" ] && files+=(--file "$root/compat-tests/$f")
    done < <(sed -n 's|^// oxv-file: ||p' "$src")
    stdin=$(sed -n 's|^// oxv-stdin: ||p' "$src" | tr -d '\n')
    # shellcheck disable=SC2086 # the words of oxv-args
    printf '%b' "$stdin" | "$oxv" run --strace --timeout 60 "${files[@]}" "$work/$name" $args \
        >/dev/null 2>"$work/$name.log" || true
    "$root/fuzz/target/debug/oxv-fuzz-seeds" strace "seeds/compat-$name.bin" <"$work/$name.log"
done
