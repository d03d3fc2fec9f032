/* fchmod/fchown on a new file argv[1] past the umask, as SQLite gives its
 * -wal and -shm files the database's mode: prints what fstat then says. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	umask(022);
	int fd = argc > 1 ? open(argv[1], O_CREAT | O_RDWR | O_EXCL, 0666) : -1;
	if (fd < 0 || fstat(fd, &st))
		return 1;
	printf("created %o size %ld\n", (unsigned)st.st_mode & 0777, (long)st.st_size);
	int r = fchmod(fd, 0666), c = fchown(fd, getuid(), getgid());
	fstat(fd, &st);
	printf("fchmod %d fchown %d: %o\n", r, c, (unsigned)st.st_mode & 0777);
	r = fchmod(fd, 0600);
	close(fd);
	stat(argv[1], &st);
	printf("fchmod %d, after close: %o\n", r, (unsigned)st.st_mode & 0777);
	return 0;
}
