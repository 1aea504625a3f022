/* Guest startup: reset vector -> 32-bit protected mode -> 64-bit long mode
 * with an identity map of what guests touch -> .data copied, .bss zeroed ->
 * main() -> its return value to the debug-exit port.
 *
 * Page tables (RAM, assumed zero at reset as both VMMs give it):
 *   0x1000 PML4, 0x2000 PDPT, 0x3000 PD for [0,1 GiB), 0x4000 PD for [3,4 GiB)
 * 2 MiB pages: 0-2 MiB (code data stack), 0xD0000000 (a hole, for wild MMIO),
 * 0xFEC00000-0xFEFFFFFF (IOAPIC, TPM CRB, LAPIC), 0xFFE00000 (this ROM). */

#define PML4 0x1000
#define PDPT 0x2000
#define PD0 0x3000
#define PD3 0x4000
#define STACK_TOP 0x80000
#define GDT_RAM 0x800

	.section .text16, "ax"
	.code16
	.globl entry16
entry16:
	cli
	cld
	/* The GDT is built in RAM with immediate stores: descriptor-table reads
	 * from a read-only (ROM) memory slot are not reliable on every KVM. */
	xorw %ax, %ax
	movw %ax, %ds
	movl $0, GDT_RAM + 0
	movl $0, GDT_RAM + 4
	movl $0x0000FFFF, GDT_RAM + 8   /* 0x08: 32-bit code */
	movl $0x00CF9A00, GDT_RAM + 12
	movl $0x0000FFFF, GDT_RAM + 16  /* 0x10: data */
	movl $0x00CF9200, GDT_RAM + 20
	movl $0x0000FFFF, GDT_RAM + 24  /* 0x18: 64-bit code */
	movl $0x00AF9A00, GDT_RAM + 28
	movw $31, GDT_RAM + 32
	movl $GDT_RAM, GDT_RAM + 34
	lgdtl GDT_RAM + 32
	movl %cr0, %eax
	andl $0x9FFFFFFF, %eax /* caches on (clear CD, NW) */
	orl $1, %eax           /* PE */
	movl %eax, %cr0
	ljmpl $0x08, $entry32

	.section .text32, "ax"
	.code32
entry32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl $(PDPT | 3), PML4
	movl $(PD0 | 3), PDPT
	movl $(PD3 | 3), PDPT + 24
	movl $(0x00000000 | 0x83), PD0                 /* 0-2 MiB */
	movl $(0xD0000000 | 0x83), PD3 + 8 * 128       /* wild MMIO */
	movl $(0xFEC00000 | 0x83), PD3 + 8 * 502       /* IOAPIC, TPM CRB */
	movl $(0xFEE00000 | 0x83), PD3 + 8 * 503       /* LAPIC */
	movl $(0xFFE00000 | 0x83), PD3 + 8 * 511       /* this ROM */
	movl $PML4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax                                 /* PAE */
	movl %eax, %cr4
	movl $0xC0000080, %ecx                          /* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000000, %eax                           /* PG */
	movl %eax, %cr0
	ljmpl $0x18, $entry64

	.section .text.entry, "ax"
	.code64
entry64:
	movq $STACK_TOP, %rsp
	movabsq $_data_lma, %rsi
	movabsq $_data_start, %rdi
	movabsq $_data_end, %rcx
	subq %rdi, %rcx
	rep movsb
	movabsq $_bss_start, %rdi
	movabsq $_bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	movabsq $main, %rax
	call *%rax
	movw $0x501, %dx
	outb %al, %dx
1:	hlt
	jmp 1b

	.section .reset, "ax"
	.code16
	.globl reset_vector
reset_vector:          /* 0xFFFFFFF0: CS base 0xFFFF0000, IP 0xFFF0 */
	jmp entry16
	.fill 16 - (. - reset_vector), 1, 0xF4
