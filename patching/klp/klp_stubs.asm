; The klp redirect (patching/klp/klp.h).  A function in transition has its
; fentry NOP replaced by `jmp klp_stub_<i>` (a jmp, not a call, so the int3
; protocol that writes it can finish it for a CPU arriving mid-write, as it
; does any jmp).  The stub pushes its site's index and goes to klp_common,
; which asks klp_choose() where the *current thread* goes -- the new
; function, or the old body right after its NOP -- and goes there with the
; stack exactly as the caller left it: the destination runs as if called.
; klp_choose also sees that stack (the caller's return address and frame
; pointer), to switch a thread whose stack is clear right there.
;
; Everything here is not patchable, and the scan treats a thread stopped
; anywhere in [klp_code_start, klp_code_end) as not yet decided.

KLP_STUBS equ 64                      ; = klp::MAX_SITES

section .text.not_patchable progbits alloc exec nowrite align=16
extern klp_choose
global klp_code_start, klp_code_end, klp_stubs, klp_common

klp_code_start:
align 16
klp_stubs:
%assign i 0
%rep KLP_STUBS
    push dword i                      ; the site's index
    jmp klp_common
    align 16, db 0xcc
%assign i i + 1
%endrep

; [esp] = the site's index, [esp + 4] = the caller's return address.
klp_common:
    pushad                            ; every register the function was called with
    push esp                          ; klp_choose's RedirectFrame: those, the index, the return address
    call klp_choose                   ; eax = where this thread goes
    add esp, 4
    mov [esp + 32], eax               ; the index's slot now holds the destination
    popad
    ret                               ; to it, with the caller's return address on top
klp_code_end:
