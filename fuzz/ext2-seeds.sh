#!/usr/bin/env bash
# Regenerates seeds-ext2/, the seed corpus of the `ext2` fuzz target: small images made by
# mke2fs (e2fsprogs) holding every layout the driver reads, stored without their trailing
# zeros. Deterministic: fixed time, UUID and hash seed.
#
#   fuzz/ext2-seeds.sh
set -euo pipefail
cd "$(dirname "$0")"
command -v mke2fs >/dev/null || { echo "ext2-seeds: needs mke2fs (apt-get install e2fsprogs)" >&2; exit 2; }
cargo build --quiet -p oxv-fuzz-harness --bin oxv-fuzz-seeds
seeds=target/debug/oxv-fuzz-seeds
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export E2FSPROGS_FAKE_TIME=1700000000
uuid=6f78762d-6675-7a7a-2d65-787432000000

# A tree of every layout: small and direct-block files, a file with an indirect block, a
# sparse one reaching the double-indirect range (data near 300 KiB: past 12 + 256 blocks of
# 1 KiB; near 4.2 MiB for 4 KiB blocks), fast and slow symlinks, a hard link, a FIFO, nested
# directories, one of 40 entries (several blocks at 1 KiB).
tree() {
    local root=$1 far=$2
    mkdir -p "$root/sub/deeper" "$root/many"
    printf 'hello, ext2\n' >"$root/small"
    awk 'BEGIN { for (i = 0; i < 700; i++) printf "line %04d of a file\n", i }' >"$root/medium"
    printf 'head' >"$root/sparse"
    printf 'tail' | dd of="$root/sparse" bs=1 seek="$far" conv=notrunc status=none
    printf 'deep\n' >"$root/sub/deeper/note"
    for i in $(seq 1 40); do printf '%s' "$i" >"$root/many/entry-with-a-long-name-$i"; done
    ln -s small "$root/fast"
    ln -s "$(printf 'y%.0s' $(seq 1 90))" "$root/slow"
    ln "$root/small" "$root/small-again"
    mkfifo "$root/fifo"
}

make() { # NAME KIB BLOCK_SIZE FAR [MKE2FS_ARGS...]
    local name=$1 kib=$2 bs=$3 far=$4
    shift 4
    rm -rf "$work/src" "$work/img"
    tree "$work/src" "$far"
    mke2fs -q -F -t ext2 -b "$bs" -N 64 -U "$uuid" -E "hash_seed=$uuid" "$@" \
        -d "$work/src" "$work/img" "${kib}k"
    "$seeds" ext2 "$work/img" "seeds-ext2/$name.img"
}

mkdir -p seeds-ext2
rm -f seeds-ext2/*.img
make tree-1k 512 1024 307200
make tree-4k 1024 4096 4415000
make rev0-1k 512 1024 307200 -r 0
# Hashed directory indexes: e2fsck -D builds them for directories of more than one block.
cp "seeds-ext2/tree-1k.img" "$work/hashed.img"
truncate -s 512k "$work/hashed.img"
e2fsck -fyD "$work/hashed.img" >/dev/null 2>&1 || [ $? -le 1 ]
"$seeds" ext2 "$work/hashed.img" seeds-ext2/tree-1k-hashed.img
rm -rf "$work/src"; mkdir "$work/src"
rm -f "$work/img"
mke2fs -q -F -t ext2 -b 1024 -N 16 -U "$uuid" "$work/img" 64k
"$seeds" ext2 "$work/img" seeds-ext2/empty-64k.img
ls -l seeds-ext2
