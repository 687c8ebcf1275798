#!/usr/bin/env bash
# A bounded run of oxv's syscall fuzzer on the stable toolchain (no cargo-fuzz needed).
#
#   fuzz/run.sh [--target T] [SECONDS] [--strict] [-- LIBFUZZER_ARGS...]
#                                       fuzz target T (default syscalls) for SECONDS (120)
#   fuzz/run.sh --seeds [PREFIX...]     regenerate seeds/ (needs QEMU)
#
# Targets: `syscalls` (seeds/), `ext2` (ext2 images: seeds-ext2/, made by ext2-seeds.sh),
# `cmdline` (kernel command lines: seeds-cmdline/).
#
# It builds fuzz_targets/T.rs with libFuzzer's coverage instrumentation
# (-Cpasses=sancov-module, no sanitizer, so no nightly flag is needed), runs it on
# corpus/T (grown across runs) seeded from its seeds, and prints one summary line:
#   fuzz: N executions in S s (R/s), corpus C inputs, crashes K
# Exit status: 0 without a crash, 1 with one (the input is saved under artifacts/T/;
# replay it with `cargo test --manifest-path fuzz/Cargo.toml` after copying it to
# regressions/ (regressions-ext2/, regressions-cmdline/), or `target/debug/examples/trace
# FILE` for a syscall input), 2 on a build or usage error.
#
# -timeout=30: a hang (a deadlock) never ends, so 30 s find it as well as 10 s did, while a
# bounded but large call (a 2 GiB write from a lazily mapped region: bug 10's reproducer, about
# 11 s in the instrumented build on a busy machine) is not reported as one.
#
# Known, reported bugs (docs/robustness.md) are stepped around unless --strict is given, so a
# campaign keeps looking for new ones. With cargo-fuzz and a nightly toolchain the same
# target runs as `cargo fuzz run syscalls` (add `-s none` to skip AddressSanitizer).
set -euo pipefail
cd "$(dirname "$0")"

secs=120
strict=0
target=syscalls
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) shift; exec ./seeds.sh "$@" ;;
        --strict) strict=1 ;;
        --target) shift; target=${1:-} ;;
        --) shift; extra=("$@"); break ;;
        ''|*[!0-9]*) echo "usage: fuzz/run.sh [--target syscalls|ext2|cmdline] [SECONDS] [--strict] [-- LIBFUZZER_ARGS...] | --seeds [PREFIX...]" >&2; exit 2 ;;
        *) secs=$1 ;;
    esac
    shift
done

case "$target" in
    syscalls) seeds=seeds; regressions=regressions; max_len=8192 ;;
    # An input is a whole image less its trailing zeros: the seeds are up to 270 KiB.
    ext2) seeds=seeds-ext2; regressions=regressions-ext2; max_len=300000 ;;
    cmdline) seeds=seeds-cmdline; regressions=regressions-cmdline; max_len=4096 ;;
    *) echo "fuzz: unknown target '$target'" >&2; exit 2 ;;
esac
host=$(rustc -vV | sed -n 's/^host: //p')
flags="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
flags+=" -Cllvm-args=-sanitizer-coverage-pc-table"
flags+=" -Cllvm-args=-sanitizer-coverage-trace-compares"
flags+=" -Cdebug-assertions -Coverflow-checks"
# --target keeps the instrumentation flags off build scripts and proc macros.
if ! RUSTFLAGS="$flags" cargo build --quiet --release --target "$host" --bin "$target"; then
    echo "fuzz: build failed" >&2
    exit 2
fi
bin="target/$host/release/$target"
mkdir -p "corpus/$target" "artifacts/$target" "$regressions"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export OXV_FUZZ_KNOWN_BUGS
if [ "$strict" = 1 ]; then OXV_FUZZ_KNOWN_BUGS=fail; else OXV_FUZZ_KNOWN_BUGS=allow; fi
# Crashes, hangs, out-of-memory and leaks count; libFuzzer's slow-unit-* reports do not.
count() { find "artifacts/$target" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l; }
before=$(count)
start=$(date +%s)
set +e
# The bug reproducers seed lenient runs only: a strict run must find bugs by itself.
inputs=("corpus/$target" "$seeds")
[ "$strict" = 1 ] || inputs+=("$regressions")
"$bin" "${inputs[@]}" \
    -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 -max_len="$max_len" \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 "${extra[@]}" 2>"$log"
status=$?
set -e
elapsed=$(( $(date +%s) - start ))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
execs=${execs:-0}
after=$(count)
crashes=$(( after - before ))
corpus=$(ls "corpus/$target" | wc -l)
rate=$(( execs / (elapsed > 0 ? elapsed : 1) ))
if [ "$status" != 0 ]; then
    grep -E "panicked|invariant|deadlock|ERROR|SUMMARY|Test unit written" "$log" | head -20 >&2 || true
    [ "$crashes" -gt 0 ] || crashes=1
fi
echo "fuzz: $execs executions in ${elapsed} s (${rate}/s), corpus $corpus inputs, crashes $crashes"
[ "$crashes" = 0 ]
