; Interrupt entry stubs: one per vector, all funnelling into isr_common,
; which builds an arch::TrapFrame (arch/x86/trap.h) and calls trap_dispatch.
; The kernel runs only in ring 0, so no stack or segment switch is needed;
; GS holds the per-CPU segment and is never reloaded here.

section .text.not_patchable   ; trap entry: never a patch target
extern trap_dispatch

; Vectors where the CPU pushes an error code (SDM vol. 3, table 6-1).
%macro STUB 1
isr_stub_%1:
%if %1 = 8 || (%1 >= 10 && %1 <= 14) || %1 = 17 || %1 = 21 || %1 = 29 || %1 = 30
%else
    push dword 0                  ; dummy error code keeps the frame uniform
%endif
    push dword %1
    jmp isr_common
%endmacro

%assign v 0
%rep 256
STUB v
%assign v v+1
%endrep

global isr_common, isr_return
isr_common:
    pusha
    push ds
    push es
    push fs
    push gs
    push dword 0                  ; TrapFrame::prev, filled in by trap_dispatch
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    cld
    push esp                      ; TrapFrame*
    call trap_dispatch
    add esp, 4
isr_return:
    add esp, 4                    ; prev
    ; GS and FS are not restored: GS selects the per-CPU area of the CPU we
    ; are on *now*, and a thread preempted in here may resume on another CPU.
    add esp, 8                    ; gs, fs
    pop es
    pop ds
    popa
    add esp, 8                    ; vector, error code
    iret

section .rodata
global isr_stub_table
isr_stub_table:
%assign v 0
%rep 256
    dd isr_stub_%+v
%assign v v+1
%endrep
