# A minimal PVH "kernel" that speaks the host side of the oxv protocol, to test the CLI's
# QEMU plumbing without the real kernel (see guest.rs, `stub_kernel_*`). 32-bit protected
# mode, no paging, polled port I/O only. It writes an early line on COM1 and a log line on
# the kernel-log port, echoes framed stdin (FF FF = FF, FF 00 = end) to the stdout port,
# writes a line to the stderr port, then its records, and exits through isa-debug-exit.
# Assembled with `--defsym PANIC=1`, it reports a kernel panic with a backtrace instead.

    .section .note.pvh, "a"
    .p2align 2
    .long 4                     # namesz
    .long 4                     # descsz
    .long 18                    # XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long _start

    .text
    .code32
    .globl _start
_start:
    mov $0x3f8, %dx
    lea early, %esi
    call puts
    mov $0xeb, %dx
    lea hello, %esi
    call puts
.ifdef PANIC
    mov $0xeb, %dx
    lea panic, %esi
    call puts
    jmp power_off
.endif
echo:
    call getc
    cmp $0xff, %al
    jne 1f
    call getc
    cmp $0x00, %al
    je done
1:  mov $0xe9, %dx
    out %al, %dx
    jmp echo
done:
    mov $0xea, %dx
    lea errmsg, %esi
    call puts
    mov $0xeb, %dx
    lea records, %esi
    call puts
power_off:
    mov $0xf4, %dx
    xor %eax, %eax
    out %eax, %dx
    hlt
    jmp power_off

# Writes the NUL-terminated string at %esi to port %dx.
puts:
    lodsb
    test %al, %al
    jz 2f
    out %al, %dx
    jmp puts
2:  ret

# Waits for a byte on COM1 and returns it in %al.
getc:
    mov $0x3fd, %dx
3:  in %dx, %al
    test $1, %al
    jz 3b
    mov $0x3f8, %dx
    in %dx, %al
    ret

    .data
early:   .asciz "stub: early message on COM1\r\n"
hello:   .asciz "stub: hello on the kernel log\n"
errmsg:  .asciz "stub: to stderr\n"
records: .asciz "\x1eoxv:boot entry_to_app_us=12\n\x1eoxv:exit status=7\n"
panic:   .asciz "\x1eoxv:panic\nstub: something broke\n\x1eoxv:backtrace 0x100005 0x10\n"
