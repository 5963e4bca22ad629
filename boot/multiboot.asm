; Multiboot 1 entry point.  GRUB and QEMU's -kernel loader both jump here in
; 32-bit protected mode with paging off, EAX = 0x2BADB002 and EBX = the
; multiboot information structure (Multiboot spec 0.6.96, section 3.2).

MB_MAGIC      equ 0x1BADB002
MB_PAGE_ALIGN equ 1 << 0          ; load modules on page boundaries
MB_MEMINFO    equ 1 << 1          ; we need the memory map
MB_FLAGS      equ MB_PAGE_ALIGN | MB_MEMINFO

BOOT_STACK_SIZE equ 20480         ; 16 KiB, plus a 4 KiB guard page at the bottom

section .multiboot progbits alloc noexec nowrite align=4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

section .bss nobits alloc noexec write align=4096
global boot_stack_bottom, boot_stack_top
boot_stack_bottom:
    resb BOOT_STACK_SIZE
boot_stack_top:

section .data
align 8
boot_first_tsc: dq 0

section .text
global _start, boot_first_tsc
extern kmain
_start:
    cli
    cld
    mov esi, eax                  ; rdtsc takes eax: keep the multiboot magic
    rdtsc                         ; the boot's first timestamp (kernel/boot_clock.h)
    mov [boot_first_tsc], eax
    mov [boot_first_tsc + 4], edx
    mov eax, esi
    mov esp, boot_stack_top
    xor ebp, ebp                  ; terminates frame-pointer backtraces
    push ebx                      ; multiboot info
    push eax                      ; multiboot magic
    call kmain
.hang:
    cli
    hlt
    jmp .hang
