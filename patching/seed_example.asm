; The seed's example function, byte for byte (see docs/design.md §1):
;
;   8b ff  mov edi,edi      ; the 2-byte "hotpatch" entry
;   53 50 53 51 52          ; push ebx/eax/ebx/ecx/edx
;   5a 59 5b 58 5b          ; pop  edx/ecx/ebx/eax/ebx
;   c3                      ; ret
;
; with 16 bytes of int3 padding before its 16-byte-aligned entry: the
; hotpatch layout.  NASM assembles `mov edi,edi` as 89 ff, so the seed's
; 8b ff is written with db.

section .text
align 16
    times 16 db 0xcc                  ; padding: never executed
global seed_example:function (seed_example.end - seed_example)
seed_example:
    db 0x8b, 0xff                     ; mov edi,edi
    push ebx
    push eax
    push ebx
    push ecx
    push edx
    pop edx
    pop ecx
    pop ebx
    pop eax
    pop ebx
    ret
.end:

; The far-jmp strategies jump here (ea <abs32> <sel16>).  The address is
; chosen on purpose: 0x003ffe00 is stored as 00 fe 3f 00, so a CPU that
; resumes at seed_example+2 after the jmp was written meets `fe 3f` -- an
; undefined opcode (FE /7) -- and faults at once, every time, instead of
; running whatever the torn bytes happen to mean.  linker.ld places this
; section at that address.
section .patch_landing progbits alloc exec nowrite align=16
extern seed_example_v2
global seed_landing:function (seed_landing.end - seed_landing)
seed_landing:
    jmp seed_example_v2
.end:
