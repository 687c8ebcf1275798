#!/bin/sh
# Boots this oxv bundle with plain QEMU. Written by `cargo oxv image`; needs a POSIX shell,
# qemu-system-x86_64 (Debian: qemu-system-x86) and mkfifo; perl, when present, passes this
# script's stdin to the app (without perl the app sees an empty stdin).
#
# The app's stdout and stderr are this script's, its stdin is this script's stdin, and the
# script exits with the app's exit status: 128+N if signal N killed it, 101 on a kernel
# panic, 102 if the VM stopped without an exit record, 124 when TIMEOUT (bundle.conf)
# expired, 2 if QEMU is missing.
#
# Environment: QEMU (the QEMU binary), OXV_ACCEL (kvm or tcg; default: kvm when /dev/kvm
# opens and the CPU has vmx or svm), OXV_KLOG (keep the kernel log in this file),
# OXV_VERBOSE=1 (show the kernel log on stderr; it is shown anyway when the run fails).
#
# How: the kernel's split console (console=split) puts app stdout, app stderr and the kernel
# log on three isa-debugcon ports and reads stdin, framed, from COM1 (0xff is sent twice,
# ff 00 is end of input). The exit status comes from the log's `oxv:exit` record.
#
# Devices (bundle.conf): DISKS (files in this directory, `:ro` for read-only; disk N gets the
# virtio-blk serial oxv-diskN, by which the kernel numbers it /dev/vd<a+N>; where it is
# mounted is in `cmdline`), NET (user or tap:NAME), PORTS (PROTO:HOSTPORT:GUESTPORT, forwarded
# by user networking), RNG=1 (a virtio-rng device). INITRD is empty when the root file system
# is a disk (DISKS' first, with `disk=/` in `cmdline`).
set -u
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 2
MEM=128M
CPUS=1
MACHINE=microvm
TIMEOUT=
INITRD=initramfs.cpio
DISKS=
NET=
PORTS=
RNG=0
. "$here/bundle.conf"

qemu=${QEMU:-qemu-system-x86_64}
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "run.sh: $qemu not found (Debian: apt-get install qemu-system-x86)" >&2
    exit 2
fi
accel=${OXV_ACCEL:-}
if [ -z "$accel" ]; then
    accel=tcg
    if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qw -e vmx -e svm /proc/cpuinfo 2>/dev/null; then
        accel=kvm
    fi
fi
case $accel in
kvm) cpu=host ;;
*) cpu=max ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/oxv-bundle.XXXXXX") || exit 2
klog=${OXV_KLOG:-$tmp/klog}
: >"$klog" || exit 2
pids=
cleanup() {
    for pid in $pids; do kill "$pid" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What `oxv run` tells the kernel about the terminal: which of fds 0-2 are terminals, and
# its size.
opts=console=split
ttys=
for fd in 0 1 2; do
    if [ -t "$fd" ]; then ttys=$ttys$fd; fi
done
if [ -n "$ttys" ]; then opts="$opts tty=$ttys"; fi
size=$(stty size 2>/dev/null) || size=
case $size in
*[0-9]" "[0-9]*) opts="$opts winsize=${size% *}x${size#* }" ;;
esac

# Every channel but the log is a QEMU pipe chardev (two FIFOs, NAME.in read by QEMU and
# NAME.out written by it). The app's output goes through cat, which writes to this
# script's own stdout and stderr: reopening /dev/stdout would not share their offset.
for ch in com1 stdout stderr; do
    mkfifo "$tmp/$ch.in" "$tmp/$ch.out" || exit 2
done
cat "$tmp/stdout.out" &
out_pid=$!
cat "$tmp/stderr.out" >&2 &
err_pid=$!
cat "$tmp/com1.out" >>"$klog" &
pids="$pids $!"
# Stdin is relayed once the kernel has written its first log line, as `oxv run` does: what
# reaches COM1 before the kernel has set the UART up is lost.
wait_for_kernel() {
    n=0
    while [ ! -s "$klog" ] && [ "$n" -lt 250 ]; do
        sleep 0.02 2>/dev/null || sleep 1
        n=$((n + 1))
    done
}
exec 3<&0
if command -v perl >/dev/null 2>&1; then
    (
        wait_for_kernel
        exec perl -e 'binmode STDIN; binmode STDOUT; $| = 1;
            while (sysread(STDIN, $b, 65536)) { $b =~ s/\xff/\xff\xff/g; syswrite(STDOUT, $b) }
            syswrite(STDOUT, "\xff\x00")'
    ) <&3 >"$tmp/com1.in" &
else
    (
        wait_for_kernel
        printf '\377\000'
    ) >"$tmp/com1.in" &
fi
pids="$pids $!"
exec 3<&-

set -- "$qemu" -M "$MACHINE" -accel "$accel" -cpu "$cpu" -m "$MEM" -smp "$CPUS" \
    -nodefaults -no-user-config -nographic -no-reboot \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -chardev "pipe,id=com1,path=$tmp/com1" -serial chardev:com1 \
    -chardev "pipe,id=stdout,path=$tmp/stdout" -device isa-debugcon,iobase=0xe9,chardev=stdout \
    -chardev "pipe,id=stderr,path=$tmp/stderr" -device isa-debugcon,iobase=0xea,chardev=stderr \
    -chardev "file,id=klog,path=$klog,append=on" \
    -device isa-debugcon,iobase=0xeb,chardev=klog \
    -kernel "$here/oxv-kernel" -append "$opts $(cat "$here/cmdline")"
if [ -n "$INITRD" ]; then
    set -- "$@" -initrd "$here/$INITRD"
fi

# Devices, as `oxv run` attaches them (crates/cli/src/qemu.rs). On microvm, QEMU lists
# virtio-mmio devices on the kernel command line only without ACPI.
case $MACHINE in
microvm) blk=virtio-blk-device net=virtio-net-device rng=virtio-rng-device ;;
*) blk=virtio-blk-pci net=virtio-net-pci rng=virtio-rng-pci ;;
esac
if [ "$MACHINE" = microvm ] && { [ -n "$DISKS$NET" ] || [ "$RNG" = 1 ]; }; then
    set -- "$@" -machine acpi=off -global virtio-mmio.force-legacy=false
fi
if [ "$RNG" = 1 ]; then
    set -- "$@" -device "$rng"
fi
# A comma in a QEMU option value is written twice.
qdir=$(printf '%s\n' "$here" | sed 's/,/,,/g')
n=0
old_ifs=$IFS
IFS=,
for disk in $DISKS; do
    ro=
    case $disk in
    *:ro) disk=${disk%:ro} ro=,readonly=on ;;
    esac
    set -- "$@" -drive "file=$qdir/$disk,if=none,id=disk$n,format=raw,cache=writeback$ro" \
        -device "$blk,drive=disk$n,serial=oxv-disk$n"
    n=$((n + 1))
done
case $NET in
user)
    netdev=user,id=net0
    for port in $PORTS; do
        proto=${port%%:*}
        ports=${port#*:}
        netdev="$netdev,hostfwd=$proto::${ports%%:*}-:${ports#*:}"
    done
    set -- "$@" -netdev "$netdev" -device "$net,netdev=net0"
    ;;
tap:*)
    set -- "$@" -netdev "tap,id=net0,ifname=${NET#tap:},script=no,downscript=no" \
        -device "$net,netdev=net0"
    ;;
esac
IFS=$old_ifs

if [ -n "$TIMEOUT" ]; then
    set -- timeout --foreground -k 5 "$TIMEOUT" "$@"
fi
"$@" </dev/null
qemu_status=$?
# Let the output relays finish. A relay still waiting to open its FIFO (QEMU never started)
# is released by a writer that opens and closes at once (O_RDWR never blocks on a FIFO).
: 1<>"$tmp/stdout.out"
: 1<>"$tmp/stderr.out"
wait "$out_pid" "$err_pid"

rs=$(printf '\036')
status=$(LC_ALL=C sed -n "s/^${rs}oxv:exit status=\([0-9]*\).*/\1/p" "$klog" | tail -n 1)
killed=$(LC_ALL=C sed -n "s/^${rs}oxv:killed //p" "$klog" | tail -n 1)
why=
if [ -n "$TIMEOUT" ] && [ "$qemu_status" = 124 ]; then
    status=124
    why="timed out after $TIMEOUT s; the VM was stopped"
elif LC_ALL=C grep -q "^${rs}oxv:panic" "$klog"; then
    status=101
    why="kernel panic"
elif [ -n "$killed" ]; then
    sig=${killed#sig=}
    sig=${sig%% *}
    name=${killed#*name=}
    name=${name%% *}
    echo "run.sh: killed by $name" >&2
    status=$((128 + sig))
elif [ -z "$status" ]; then
    status=102
    why="the VM stopped without an exit record (QEMU status $qemu_status)"
fi
if [ -n "$why" ] || [ "${OXV_VERBOSE:-0}" = 1 ]; then
    echo "run.sh: kernel log:" >&2
    LC_ALL=C tr -d '\036' <"$klog" | sed 's/^/  /' >&2
fi
if [ -n "$why" ]; then echo "run.sh: error: $why" >&2; fi
exit "$status"
