; Thread context switch.  The only place a thread's registers are saved
; outside a trap frame: callee-saved registers and the return address, on
; the thread's own stack, in the layout of struct Context (kernel/sched/thread.h):
;   [esp+0] edi  [esp+4] esi  [esp+8] ebx  [esp+12] ebp  [esp+16] eip
; The patcher's scan reads exactly this, so this code is never patchable.

section .text.not_patchable
global switch_context

; void switch_context(Context** save_here, Context* load)
switch_context:
    mov eax, [esp+4]
    mov edx, [esp+8]
    push ebp
    push ebx
    push esi
    push edi
    mov [eax], esp
    mov esp, edx
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret
