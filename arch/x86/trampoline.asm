; AP start-up trampoline (Intel MP spec 1.4, appendix B.4; SDM vol. 3, 9.4.4).
; kernel/smp.cpp copies the bytes between ap_trampoline_start and
; ap_trampoline_end to TRAMPOLINE_BASE (below 1 MiB, page aligned), fills in
; the parameter block at its end, and sends INIT-SIPI-SIPI with vector
; TRAMPOLINE_BASE >> 12.  The AP wakes in real mode at CS:IP = 0x0800:0000.

TRAMPOLINE_BASE equ 0x8000
%define ABS(label) (TRAMPOLINE_BASE + (label) - ap_trampoline_start)

section .rodata
global ap_trampoline_start, ap_trampoline_end, ap_trampoline_params

bits 16
ap_trampoline_start:
    cli
    cld
    mov ax, cs
    mov ds, ax
    lgdt [tramp_gdtr - ap_trampoline_start]
    mov eax, cr0
    or eax, 1                         ; protected mode, paging still off
    mov cr0, eax
    jmp dword 0x08:ABS(protected_mode)

bits 32
protected_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, [ABS(param_cr3)]         ; the BSP's page directory
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000                ; PG | WP, as on the BSP
    mov cr0, eax
    mov esp, [ABS(param_stack)]
    xor ebp, ebp                      ; ends backtraces
    push dword [ABS(param_cpu_index)]
    push dword 0                      ; fake return address
    jmp [ABS(param_entry)]            ; ap_main(cpu_index), never returns

align 8
tramp_gdt:
    dq 0
    dq 0x00cf9a000000ffff             ; flat ring-0 code
    dq 0x00cf92000000ffff             ; flat ring-0 data
tramp_gdtr:
    dw 3 * 8 - 1
    dd ABS(tramp_gdt)

align 4
ap_trampoline_params:
param_cr3:       dd 0
param_stack:     dd 0
param_entry:     dd 0
param_cpu_index: dd 0
ap_trampoline_end:
