/* After setgid/setuid in a process with threads, every thread of the
 * process carries the new ids (POSIX: credentials are per process; Linux
 * keeps them per thread and libc broadcasts). Run as root; each line of
 * /proc/self/task/<tid>/status is checked, so the enclave's host threads
 * (the ones that run its system calls) count too. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* 1 if every id on line key ("Uid:", "Gid:") of every task is want. */
static int all_tasks(const char *key, unsigned want, int *tasks)
{
	DIR *d = opendir("/proc/self/task");
	int ok = d != 0;
	*tasks = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char path[64], line[256];
		snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;              /* exited meanwhile */
		++*tasks;
		while (fgets(line, sizeof line, f)) {
			unsigned r, eff, s, fs;
			if (!strncmp(line, key, strlen(key)) &&
			    sscanf(line + strlen(key), "%u %u %u %u", &r, &eff, &s, &fs) == 4 &&
			    (r != want || eff != want || s != want || fs != want)) {
				printf("task %s: %s", e->d_name, line);
				ok = 0;
			}
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return ok;
}

int main(void)
{
	pthread_t t[2];
	int n;

	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], 0, idle, 0))
			return 2;
	printf("setgid -> %d\n", setgid(65534));
	printf("setuid -> %d\n", setuid(65534));
	int g = all_tasks("Gid:", 65534, &n), u = all_tasks("Uid:", 65534, &n);
	printf("every task: gid %s, uid %s\n", g ? "65534" : "mixed", u ? "65534" : "mixed");
	return n < 3;
}
