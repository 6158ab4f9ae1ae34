// SPDX-License-Identifier: MIT
/*
 * The smallest program that runs: static, no libc, exits 0. make bench executes it so that
 * exec overhead is not drowned by the dynamic loader's work (which, under QEMU TCG and a 9p root,
 * costs a hundred milliseconds per exec).
 */
void _start(void)
{
	__asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
}
