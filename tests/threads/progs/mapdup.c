/* The same file mapped twice, writable and shared: POSIX semaphores opened
 * twice (musl maps the file again before it finds it open) and a plain
 * second mapping that lives while the first is in use. */
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	setvbuf(stdout, 0, _IOLBF, 0);
	char name[64];
	snprintf(name, sizeof name, "/scone-mapdup-%d", (int)getpid());
	sem_t *a = sem_open(name, O_CREAT | O_EXCL, 0600, 2);
	sem_t *b = sem_open(name, 0);
	printf("first %s, second %s, same %d\n", a == SEM_FAILED ? "failed" : "ok",
	       b == SEM_FAILED ? "failed" : "ok", a == b);
	if (a == SEM_FAILED || b == SEM_FAILED)
		return 1;
	int v = -1;
	sem_post(b);
	sem_getvalue(a, &v);
	printf("post through the second, value through the first: %d\n", v);
	sem_wait(a);
	sem_wait(a);
	sem_getvalue(b, &v);
	printf("two waits through the first, value through the second: %d\n", v);
	printf("close %d %d unlink %d\n", sem_close(b), sem_close(a), sem_unlink(name));

	char path[] = "/tmp/scone-mapdup-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 4096))
		return 1;
	char *m1 = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	strcpy(m1, "first");
	char *m2 = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("second mapping %s, sees \"%s\"\n", m2 == MAP_FAILED ? "failed" : "ok",
	       m2 == MAP_FAILED ? "" : m2);
	if (m2 != MAP_FAILED)
		munmap(m2, 4096);
	strcpy(m1, "second");
	munmap(m1, 4096);
	char buf[16] = "";
	pread(fd, buf, sizeof buf - 1, 0);
	printf("file after both unmapped: \"%s\"\n", buf);

	/* The first unmapped before the second: the second goes on with what
	 * the first held, and is what reaches the file. */
	m1 = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m2 = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	strcpy(m1, "third");
	munmap(m1, 4096);
	printf("second sees \"%s\" after the first is gone\n", m2);
	strcpy(m2, "fourth");
	munmap(m2, 4096);
	memset(buf, 0, sizeof buf);
	pread(fd, buf, sizeof buf - 1, 0);
	printf("file: \"%s\"\n", buf);
	close(fd);
	unlink(path);
	return 0;
}
