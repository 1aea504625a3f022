/* A freestanding test "kernel" in the Linux bzImage format (Documentation/arch/
 * x86/boot.rst): the setup header vigil-vmm's direct-boot loader checks, and
 * the 64-bit entry point at offset 0x200 of the protected-mode part, entered
 * in long mode with RSI = boot_params. Linked at its preferred address, 16 MiB. */

	.section .setup, "a"
	.org 0x1F1
	.byte 1                 /* setup_sects: setup is 2 sectors (1 KiB) */
	.word 0                 /* root_flags */
	.long _syssize          /* syssize, 16-byte units */
	.word 0, 0, 0           /* ram_size, vid_mode, root_dev */
	.word 0xAA55            /* boot_flag */
	.byte 0xEB, 0x66        /* jump: the header runs to 0x268 */
	.ascii "HdrS"
	.word 0x020F            /* protocol 2.15 */
	.long 0                 /* realmode_swtch */
	.word 0, 0              /* start_sys_seg, kernel_version */
	.byte 0                 /* type_of_loader */
	.byte 0x01              /* loadflags: LOADED_HIGH */
	.word 0                 /* setup_move_size */
	.long 0x100000          /* code32_start */
	.long 0, 0, 0           /* ramdisk_image, ramdisk_size, bootsect_kludge */
	.word 0                 /* heap_end_ptr */
	.byte 0, 0              /* ext_loader_ver, ext_loader_type */
	.long 0                 /* cmd_line_ptr */
	.long 0x7FFFFFFF        /* initrd_addr_max */
	.long 0x200000          /* kernel_alignment */
	.byte 1                 /* relocatable_kernel (we are not, but load at pref_address) */
	.byte 21                /* min_alignment */
	.word 0x0001            /* xloadflags: XLF_KERNEL_64 */
	.long 2047              /* cmdline_size */
	.org 0x258
	.quad 0x1000000         /* pref_address */
	.long _init_size        /* init_size */
	.long 0                 /* handover_offset */
	.org 0x400

	.section .text.head, "ax"
	.code64
	.globl _kernel_start
_kernel_start:
	.fill 0x200, 1, 0xF4    /* the 32-bit entry: not used (hlt) */
entry64:
	movabsq $_stack_top, %rsp
	movq %rsi, %r12
	movabsq $_bss_start, %rdi
	movabsq $_bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	movq %r12, %rdi
	movabsq $bzmain, %rax
	call *%rax
	movw $0x501, %dx
	outb %al, %dx
1:	hlt
	jmp 1b
