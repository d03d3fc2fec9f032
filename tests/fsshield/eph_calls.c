/*
 * Every call the ephemeral region serves, on directory argv[1] (with
 * argv[2] = "files", those on regular files only); the output
 * names results and errno values only (no inode numbers, times or owners),
 * so a native run over a real tmpfs directory prints the very same bytes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *ename(int e)
{
	switch (e) {
#define E(x) case x: return #x;
	E(EPERM) E(ENOENT) E(EBADF) E(EACCES) E(EBUSY) E(EEXIST) E(EXDEV) E(ENOTDIR)
	E(EISDIR) E(EINVAL) E(EMFILE) E(ENOTTY) E(ENOSPC) E(ESPIPE) E(ENOTEMPTY) E(ENODEV)
	E(ENOSYS) E(ENAMETOOLONG) E(ENXIO) E(EFAULT) E(EOPNOTSUPP)
#undef E
	}
	static char b[16];
	snprintf(b, sizeof b, "errno%d", e);
	return b;
}
#define strerrorname_np ename

static char D[512];
static char *P(const char *name)
{
	static char buf[4][600];
	static int i;
	char *b = buf[i++ % 4];
	snprintf(b, 600, "%s/%s", D, name);
	return b;
}

#define SHOW(what, expr) do { errno = 0; long r_ = (long)(expr); \
	printf("%-28s %ld %s\n", what, r_, r_ < 0 ? strerrorname_np(errno) : (const char *)""); } while (0)

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) { printf("opendir %s\n", strerrorname_np(errno)); return; }
	char *names[64]; int n = 0; struct dirent *e;
	while ((e = readdir(d)) && n < 64)
		names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	printf("list:");
	for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
	printf("\n");
}

static void st(const char *what, const char *path)
{
	struct stat s;
	if (stat(path, &s)) { printf("stat %s %s\n", what, strerrorname_np(errno)); return; }
	/* a directory's size is the file system's own business */
	printf("stat %s size=%lld type=%s mode=%o\n", what, S_ISDIR(s.st_mode) ? 0 : (long long)s.st_size,
	       S_ISDIR(s.st_mode) ? "dir" : S_ISREG(s.st_mode) ? "reg" : "other", s.st_mode & 0777);
}

int main(int argc, char **argv)
{
	char buf[256];
	if (argc < 2) return 2;
	/* "files": regular files only (no directories, renames or mappings) */
	int files_only = argc > 2 && !strcmp(argv[2], "files");
	snprintf(D, sizeof D, "%s", argv[1]);
	umask(022);
	int fd = open(P("a.txt"), O_CREAT | O_RDWR | O_EXCL, 0640);
	printf("open a.txt %s\n", fd >= 0 ? "ok" : strerrorname_np(errno));
	SHOW("open excl again", open(P("a.txt"), O_CREAT | O_RDWR | O_EXCL, 0640));
	SHOW("open missing", open(P("nope"), O_RDONLY));
	SHOW("open in missing dir", open(P("nodir/x"), O_CREAT | O_WRONLY, 0600));
	SHOW("write", write(fd, "hello, enclave\n", 15));
	SHOW("lseek cur", lseek(fd, 0, SEEK_CUR));
	SHOW("lseek set 7", lseek(fd, 7, SEEK_SET));
	memset(buf, 0, sizeof buf);
	SHOW("read", read(fd, buf, sizeof buf));
	printf("data [%s]\n", buf);
	SHOW("pwrite at 100", pwrite(fd, "tail", 4, 100));
	SHOW("lseek end", lseek(fd, 0, SEEK_END));
	memset(buf, 'x', sizeof buf);
	SHOW("pread hole", pread(fd, buf, 8, 96));
	printf("hole %02x %02x %02x %02x %c\n", buf[0], buf[1], buf[2], buf[3], buf[4]);
	struct iovec v[3] = { { "ab", 2 }, { "", 0 }, { "cdef", 4 } };
	SHOW("lseek set 0", lseek(fd, 0, SEEK_SET));
	SHOW("writev", writev(fd, v, 3));
	char r1[3] = {0}, r2[5] = {0};
	struct iovec rv[2] = { { r1, 2 }, { r2, 4 } };
	SHOW("preadv", preadv(fd, rv, 2, 1));
	printf("preadv [%s][%s]\n", r1, r2);
	SHOW("pwritev", pwritev(fd, v, 3, 200));
	SHOW("readv at 6", (lseek(fd, 6, SEEK_SET), readv(fd, rv, 2)));
	printf("readv [%s][%s]\n", r1, r2);
	struct stat s;
	SHOW("fstat", fstat(fd, &s));
	printf("fstat size=%lld reg=%d mode=%o nlink=%ld\n", (long long)s.st_size, S_ISREG(s.st_mode), s.st_mode & 0777, (long)s.st_nlink);
	SHOW("ftruncate 50", ftruncate(fd, 50));
	SHOW("fsync", fsync(fd));
	SHOW("fdatasync", fdatasync(fd));
	st("a.txt", P("a.txt"));
	SHOW("truncate 20", truncate(P("a.txt"), 20));
	st("a.txt", P("a.txt"));
	struct stat ls;
	SHOW("lstat", lstat(P("a.txt"), &ls));
	printf("lstat size=%lld\n", (long long)ls.st_size);
	unsigned char sx[256];
	SHOW("statx", syscall(SYS_statx, AT_FDCWD, P("a.txt"), 0, 0x7ffu, sx));
	unsigned long long sxsize; unsigned short sxmode;
	memcpy(&sxsize, sx + 40, 8); memcpy(&sxmode, sx + 28, 2);
	printf("statx size=%llu mode=%o reg=%d\n", sxsize, sxmode & 0777, S_ISREG(sxmode));
	SHOW("fstatat", fstatat(AT_FDCWD, P("a.txt"), &s, 0));
	SHOW("access", access(P("a.txt"), R_OK | W_OK));
	SHOW("access missing", access(P("b.txt"), F_OK));
	/* fcntl */
	int fl = fcntl(fd, F_GETFL);
	printf("getfl accmode=%d append=%d\n", fl & O_ACCMODE, !!(fl & O_APPEND));
	SHOW("setfl append", fcntl(fd, F_SETFL, O_APPEND));
	fl = fcntl(fd, F_GETFL);
	printf("getfl accmode=%d append=%d\n", fl & O_ACCMODE, !!(fl & O_APPEND));
	SHOW("append write", write(fd, "END", 3));
	SHOW("after append", lseek(fd, 0, SEEK_CUR));
	SHOW("getfd", fcntl(fd, F_GETFD));
	SHOW("setfd", fcntl(fd, F_SETFD, FD_CLOEXEC));
	SHOW("getfd", fcntl(fd, F_GETFD));
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	SHOW("setlk", fcntl(fd, F_SETLK, &lk));
	lk.l_type = F_RDLCK;
	SHOW("getlk", fcntl(fd, F_GETLK, &lk));
	printf("getlk type unlck=%d\n", lk.l_type == F_UNLCK);
	SHOW("flock", flock(fd, LOCK_EX));
	/* dup family: shared offsets */
	int d1 = dup(fd);
	printf("dup %s distinct=%d\n", d1 >= 0 ? "ok" : strerrorname_np(errno), d1 != fd);
	SHOW("lseek via dup", lseek(d1, 3, SEEK_SET));
	SHOW("offset seen by fd", lseek(fd, 0, SEEK_CUR));
	int d2 = fcntl(fd, F_DUPFD, 40);
	printf("F_DUPFD >=40 %d\n", d2 >= 40);
	SHOW("dup2", dup2(fd, 50));
	SHOW("dup3", dup3(fd, 51, O_CLOEXEC));
	SHOW("getfd 51", fcntl(51, F_GETFD));
	SHOW("close fd", close(fd));
	SHOW("read via 50", pread(50, buf, 5, 0));
	printf("via dup [%.5s]\n", buf);
	SHOW("close 50", close(50));
	SHOW("close 51", close(51));
	SHOW("close d2", close(d2));
	SHOW("close again", close(50));
	/* mmap */
	if (!files_only) {
		void *m = mmap(0, 4096, PROT_READ, MAP_PRIVATE, d1, 0);
		printf("mmap %s [%.5s]\n", m == MAP_FAILED ? strerrorname_np(errno) : "ok", m == MAP_FAILED ? "" : (char *)m);
		if (m != MAP_FAILED) munmap(m, 4096);
	}
	SHOW("close d1", close(d1));
	/* O_TRUNC, O_APPEND, creat */
	fd = open(P("a.txt"), O_WRONLY | O_TRUNC);
	SHOW("write after trunc", write(fd, "0123456789", 10));
	close(fd);
	fd = open(P("a.txt"), O_WRONLY | O_APPEND);
	SHOW("lseek 0", lseek(fd, 0, SEEK_SET));
	SHOW("append", write(fd, "AB", 2));
	close(fd);
	st("a.txt", P("a.txt"));
	fd = creat(P("c.txt"), 0600);
	SHOW("creat write", write(fd, "c", 1));
	SHOW("read wronly", read(fd, buf, 1));
	close(fd);
	fd = open(P("c.txt"), O_RDONLY);
	SHOW("write rdonly", write(fd, "x", 1));
	SHOW("ftruncate rdonly", ftruncate(fd, 0));
	close(fd);
	st("c.txt", P("c.txt"));
	if (files_only)
		goto big;
	/* directories */
	SHOW("mkdir sub", mkdir(P("sub"), 0755));
	SHOW("mkdir sub again", mkdir(P("sub"), 0755));
	SHOW("mkdir nested", mkdir(P("sub/deep"), 0700));
	st("sub", P("sub"));
	SHOW("open dir for write", open(P("sub"), O_WRONLY));
	SHOW("open file as dir", open(P("a.txt"), O_RDONLY | O_DIRECTORY));
	int dfd = open(P("sub"), O_RDONLY | O_DIRECTORY);
	printf("open dir %s\n", dfd >= 0 ? "ok" : strerrorname_np(errno));
	int at = openat(dfd, "in.txt", O_CREAT | O_WRONLY, 0644);
	SHOW("openat write", write(at, "inside", 6));
	close(at);
	SHOW("read dir", read(dfd, buf, 1));
	SHOW("mkdirat", mkdirat(dfd, "d2", 0755));
	SHOW("fstatat rel", fstatat(dfd, "in.txt", &s, 0));
	printf("fstatat size=%lld\n", (long long)s.st_size);
	SHOW("unlinkat dir w/o flag", unlinkat(dfd, "d2", 0));
	SHOW("unlinkat removedir", unlinkat(dfd, "d2", AT_REMOVEDIR));
	close(dfd);
	list(D);
	list(P("sub"));
	SHOW("rmdir nonempty", rmdir(P("sub")));
	SHOW("rmdir file", rmdir(P("a.txt")));
	SHOW("unlink dir", unlink(P("sub")));
	/* rename */
	SHOW("rename file", rename(P("c.txt"), P("sub/moved.txt")));
	st("old name", P("c.txt"));
	st("new name", P("sub/moved.txt"));
	SHOW("rename dir", rename(P("sub"), P("sub2")));
	st("moved dir file", P("sub2/moved.txt"));
	st("nested after move", P("sub2/deep"));
	SHOW("rename over file", rename(P("sub2/in.txt"), P("a.txt")));
	st("replaced", P("a.txt"));
	SHOW("renameat2 noreplace", syscall(SYS_renameat2, AT_FDCWD, P("sub2/moved.txt"), AT_FDCWD, P("a.txt"), 1 /* RENAME_NOREPLACE */));
	SHOW("rename missing", rename(P("zz"), P("yy")));
	SHOW("rename into self", rename(P("sub2"), P("sub2/deep/x")));
	/* unlink while open */
	fd = open(P("a.txt"), O_RDONLY);
	SHOW("unlink open file", unlink(P("a.txt")));
	SHOW("read unlinked", read(fd, buf, 6));
	printf("unlinked [%.6s]\n", buf);
	close(fd);
	st("unlinked", P("a.txt"));
	SHOW("unlink", unlink(P("sub2/moved.txt")));
	SHOW("rmdir deep", rmdir(P("sub2/deep")));
	SHOW("rmdir sub2", rmdir(P("sub2")));
	list(D);
big:
	/* a big file */
	fd = open(P("big"), O_CREAT | O_RDWR, 0600);
	static char blk[65536];
	for (int i = 0; i < 65536; i++) blk[i] = (char)(i * 7);
	long tot = 0;
	for (int i = 0; i < 40; i++) tot += write(fd, blk, sizeof blk);
	printf("big wrote %ld\n", tot);
	unsigned sum = 0;
	lseek(fd, 0, SEEK_SET);
	long got;
	while ((got = read(fd, blk, 4096)) > 0)
		for (long i = 0; i < got; i++) sum = sum * 31 + (unsigned char)blk[i];
	printf("big sum %u\n", sum);
	close(fd);
	SHOW("unlink big", unlink(P("big")));
	/* stdio */
	FILE *f = fopen(P("f.txt"), "w");
	for (int i = 0; i < 1000; i++) fprintf(f, "line %d\n", i);
	fclose(f);
	f = fopen(P("f.txt"), "r");
	int lines = 0;
	while (fgets(buf, sizeof buf, f)) lines++;
	fclose(f);
	printf("stdio lines %d last [%s]\n", lines, buf);
	unlink(P("f.txt"));
	if (!files_only)
		list(D);
	return 0;
}
