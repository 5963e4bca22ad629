; patchtorture's far-jmp targets: 32 functions shaped like seed_example (a
; 2-byte first instruction, then a 5-byte one, then a 7-byte far jmp over
; both when patched), each with its two replacement versions and a landing
; for each version.  Every state a CPU can meet halfway through a write --
; in either direction, at either instruction boundary inside the 7 bytes --
; faults at once or returns a signature no version has; none can run on
; and corrupt memory.  (patching/torture/targets.h derives the landing
; addresses the same way; docs/patchtorture.md walks through every case.)
;
;   +0  eb 00        jmp +2.  Ends a QEMU TCG translation block, so an
;                    interrupt can arrive with EIP = +2, as it can at any
;                    instruction boundary on hardware.  (mov edi,edi would
;                    not: TCG takes interrupts only between blocks.)
;   +2  b8 <sig>     mov eax, signature(id, 1): 3f <id> 01 5a
;   +7  e9 ...       jmp torture_far_common
;   +12 fe ff ...    a trap sled: at an even offset fe ff is FE /7, at an
;                    odd one ff fe is FF /7, both undefined (#UD).
;
; Patched, the 7 bytes are  ea <L0> <L1> <R> 00 08 00  (jmp 0x08:0x00RRL1L0,
; R = 3f, 3e or 3d), L1 = fe or ff, L0 = 0x10..0x6a:
;   * a CPU resuming at +2 after the jmp (or part of it) was written meets
;     <L1> <3f|3e|3d> or <L1> 3f: FE /7 or FF /7 -> #UD (QEMU may first
;     evaluate the memory operand and report #PF instead: a read, still a
;     fault at +2);
;   * a CPU entering at +0 halfway through an apply meets ea with a selector
;     still old (01 5a or 08 5a, beyond the GDT) -> #GP;
;   * halfway through a revert it meets eb <L0>: a short jmp into the sled
;     (-> #UD), or eb 00 followed by <L1> ... (-> #UD), or a mov eax with
;     a mixed immediate, which the body refuses as no version's signature;
;   * between two versions' jmps only L0 differs, so any mix is one of the
;     two landings.

%define SIG(id, version) (0x5a00003f | ((version) << 16) | ((id) << 8))
%define FAR_TARGETS 48

extern torture_body

section .text

; Common tail of every version: torture_body(ctx, signature).
global torture_far_common:function (torture_far_common.end - torture_far_common)
torture_far_common:
    push eax                    ; the signature
    push dword [esp + 8]        ; the CallCtx* argument of the target
    call torture_body
    add esp, 8
    ret
.end:

%assign i 0
%rep FAR_TARGETS
align 16
    times 16 db 0xcc
global torture_far_ %+ i %+ :function (torture_far_ %+ i %+ .end - torture_far_ %+ i)
torture_far_ %+ i %+ :
    db 0xeb, 0x00
    mov eax, SIG(i, 1)
    jmp near torture_far_common   ; e9: 5 bytes, so the sled starts at +12
    times 56 db 0xfe, 0xff
.end:
global torture_far_ %+ i %+ _v2:function 10
torture_far_ %+ i %+ _v2:
    mov eax, SIG(i, 2)
    jmp torture_far_common
global torture_far_ %+ i %+ _v3:function 10
torture_far_ %+ i %+ _v3:
    mov eax, SIG(i, 3)
    jmp torture_far_common
%assign i i+1
%endrep

; The landings, three regions of the .patch_landing output section
; (linker.ld): 0x3ffe10.. for targets 0..15, 0x3efe10.. for 16..31 and
; 0x3dfe10.. for 32..47 (0x3ffe00 is seed_example's).  Target i:
; L1 = 0xfe + (i / 8) % 2, v2 at L0 = 0x10 + 12 * (i % 8), v3 six bytes after.
%macro landings 1   ; first target of the region
%assign j 0
%rep 16
%assign t %1 + j
%assign off ((j / 8) * 0x100) + 12 * (j % 8)
    times off - ($ - $$) db 0xcc
    jmp torture_far_ %+ t %+ _v2
    times off + 6 - ($ - $$) db 0xcc
    jmp torture_far_ %+ t %+ _v3
%assign j j+1
%endrep
%endmacro

section .torture_landing_3f progbits alloc exec nowrite align=1
    landings 0
section .torture_landing_3e progbits alloc exec nowrite align=1
    landings 16
section .torture_landing_3d progbits alloc exec nowrite align=1
    landings 32
