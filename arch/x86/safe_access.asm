; Memory accesses that may fault without killing the kernel: `peek` at a bad
; address, the backtrace walker following a broken EBP chain, the ktest that
; checks .text is read-only.  Each access instruction has a fixup entry; the
; trap dispatcher (arch/x86/idt.cpp) sends a fault at one of them to its fixup,
; which returns -1 instead.

section .text.not_patchable   ; the scan reads stacks through these
global safe_read_u8, safe_read_u32, safe_write_u8
global exception_fixups_start, exception_fixups_end

; int safe_read_u8(const void* addr, uint8_t* out)
safe_read_u8:
    mov edx, [esp+4]
.access:
    movzx eax, byte [edx]
    mov ecx, [esp+8]
    mov [ecx], al
    xor eax, eax
    ret
.fixup:
    mov eax, -1
    ret

; int safe_read_u32(const void* addr, uint32_t* out)
safe_read_u32:
    mov edx, [esp+4]
.access:
    mov eax, [edx]
    mov ecx, [esp+8]
    mov [ecx], eax
    xor eax, eax
    ret
.fixup:
    mov eax, -1
    ret

; int safe_write_u8(void* addr, uint8_t value)
safe_write_u8:
    mov edx, [esp+4]
    mov eax, [esp+8]
.access:
    mov [edx], al
    xor eax, eax
    ret
.fixup:
    mov eax, -1
    ret

section .rodata
exception_fixups_start:
    dd safe_read_u8.access, safe_read_u8.fixup
    dd safe_read_u32.access, safe_read_u32.fixup
    dd safe_write_u8.access, safe_write_u8.fixup
exception_fixups_end:
