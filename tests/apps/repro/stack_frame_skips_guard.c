/* redis's lzf_compress keeps a 512 KiB hash table on the stack (HLOG 16) and
 * stores into it sparsely without clearing it first. A native main thread has
 * 8 MiB of stack (RLIMIT_STACK), so the frame fits. The frame below is as
 * large and stores a few bytes in its lowest 128 KiB only, as a sparse hash
 * table does: each store must land in the frame itself, never in memory the
 * program got from mmap. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define NMAPS 4
#define MAPLEN (1 << 20)

__attribute__((noinline)) static void big_frame(void)
{
	volatile unsigned char table[512 << 10];

	for (size_t i = 0; i < (128 << 10); i += 4096)
		table[i] = 0x55;
}

int main(void)
{
	unsigned char *m[NMAPS];
	int bad = 0;

	for (int k = 0; k < NMAPS; k++) {
		m[k] = mmap(0, MAPLEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m[k] == MAP_FAILED)
			return 2;
		memset(m[k], 0xaa, MAPLEN);
	}
	big_frame();
	for (int k = 0; k < NMAPS; k++)
		for (size_t i = 0; i < MAPLEN; i++)
			if (m[k][i] != 0xaa) {
				bad++;
				break;
			}
	printf("%s\n", bad ? "mapped memory overwritten by a stack frame" : "ok");
	return 0;
}
