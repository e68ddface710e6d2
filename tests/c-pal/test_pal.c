/* A third-party-style C PAL used by the tests. Build one per ABI version:
 *   cc -shared -fPIC -DPAL_VERSION=N [-DPAL_CLAIMED_VERSION=M] -o libtest_pal_vN.so test_pal.c
 * PAL_VERSION selects the exported ABI (v1 has no pal_get_version, no env, no kill);
 * PAL_CLAIMED_VERSION (default PAL_VERSION) is what pal_get_version returns;
 * PAL_OMIT_CREATE_PROCESS leaves out pal_create_process (a broken v2+ PAL).
 *
 * pal_init fails with -EINVAL when the args contain "bogus-option" or when the host environment
 * has C_PAL_FAIL_INIT set. A v3 pal_init records fd/addr.
 *
 * Payloads are commands interpreted inside the PAL; argv[0] is ignored, argv[1] is the command:
 *   echo A B...   writes each argument on its own line to stdout, exit 0
 *   env NAME      writes the payload env value of NAME (or "<unset>") to stdout
 *   exit N        exit value N
 *   stderr TEXT   writes TEXT and a newline to stderr
 *   cat           copies stdin to stdout
 *   init          writes "args=<args> log_level=<level> fd=<fd> addr=<addr>"
 *   block         waits until pal_kill targets it, exit value 128+sig
 * An unknown command makes pal_create_process (v1: pal_exec) fail with -ENOENT.
 * pal_get_local_report (v3) writes "c-pal-report:" followed by the target info bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pal_api.h"

#ifndef PAL_VERSION
#error "define PAL_VERSION"
#endif
#ifndef PAL_CLAIMED_VERSION
#define PAL_CLAIMED_VERSION PAL_VERSION
#endif

#define MAX_PROCS 64
#define MAX_ARGS 16

struct proc {
	int used;
	int argc;
	char *argv[MAX_ARGS];
	char **env;
	struct pal_stdio_fds fds;
	int killed;           /* signal number once pal_kill targeted it */
	int running;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct proc procs[MAX_PROCS + 1];
static int initialized;
static char init_args[256], init_level[64];
static int init_fd = -1;
static uint64_t init_addr;

static const char *known[] = {"echo", "env", "exit", "stderr", "cat", "init", "block", NULL};

static int known_cmd(const char *c)
{
	for (int i = 0; known[i]; i++)
		if (c && strcmp(c, known[i]) == 0)
			return 1;
	return 0;
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void write_line(int fd, const char *s)
{
	write_all(fd, s, strlen(s));
	write_all(fd, "\n", 1);
}

static int do_init(const char *args, const char *level, int fd, uint64_t addr)
{
	if ((args && strstr(args, "bogus-option")) || getenv("C_PAL_FAIL_INIT"))
		return -EINVAL;
	pthread_mutex_lock(&lock);
	snprintf(init_args, sizeof(init_args), "%s", args ? args : "");
	snprintf(init_level, sizeof(init_level), "%s", level ? level : "");
	init_fd = fd;
	init_addr = addr;
	initialized = 1;
	pthread_mutex_unlock(&lock);
	return 0;
}

/* Copies argv/env into a free slot; returns the pid (slot index) or -errno. */
__attribute__((unused)) static int create(char **argv, char **env, struct pal_stdio_fds *fds)
{
	if (!initialized)
		return -EINVAL;
	if (!argv || !argv[0] || !known_cmd(argv[1]))
		return -ENOENT;
	pthread_mutex_lock(&lock);
	int pid = 0;
	for (int i = 1; i <= MAX_PROCS; i++)
		if (!procs[i].used) {
			pid = i;
			break;
		}
	if (!pid) {
		pthread_mutex_unlock(&lock);
		return -EAGAIN;
	}
	struct proc *p = &procs[pid];
	memset(p, 0, sizeof(*p));
	p->used = 1;
	for (int i = 0; argv[i] && i < MAX_ARGS - 1; i++)
		p->argv[p->argc++] = strdup(argv[i]);
	if (env) {
		int n = 0;
		while (env[n])
			n++;
		p->env = calloc((size_t)n + 1, sizeof(char *));
		for (int i = 0; i < n; i++)
			p->env[i] = strdup(env[i]);
	}
	p->fds = *fds;
	pthread_mutex_unlock(&lock);
	return pid;
}

static void release(struct proc *p)
{
	for (int i = 0; i < p->argc; i++)
		free(p->argv[i]);
	if (p->env) {
		for (int i = 0; p->env[i]; i++)
			free(p->env[i]);
		free(p->env);
	}
	memset(p, 0, sizeof(*p));
}

static int run(int pid, int *exit_value)
{
	pthread_mutex_lock(&lock);
	if (pid < 1 || pid > MAX_PROCS || !procs[pid].used || procs[pid].running) {
		pthread_mutex_unlock(&lock);
		return -ESRCH;
	}
	struct proc *p = &procs[pid];
	p->running = 1;
	pthread_mutex_unlock(&lock);

	const char *cmd = p->argv[1];
	int code = 0;
	char buf[4096];
	if (strcmp(cmd, "echo") == 0) {
		for (int i = 2; i < p->argc; i++)
			write_line(p->fds.stdout, p->argv[i]);
	} else if (strcmp(cmd, "env") == 0) {
		const char *val = "<unset>";
		size_t n = p->argc > 2 ? strlen(p->argv[2]) : 0;
		for (int i = 0; n && p->env && p->env[i]; i++)
			if (strncmp(p->env[i], p->argv[2], n) == 0 && p->env[i][n] == '=')
				val = p->env[i] + n + 1;
		write_line(p->fds.stdout, val);
	} else if (strcmp(cmd, "exit") == 0) {
		code = p->argc > 2 ? atoi(p->argv[2]) : 0;
	} else if (strcmp(cmd, "stderr") == 0) {
		write_line(p->fds.stderr, p->argc > 2 ? p->argv[2] : "");
	} else if (strcmp(cmd, "cat") == 0) {
		ssize_t r;
		while ((r = read(p->fds.stdin, buf, sizeof(buf))) > 0)
			write_all(p->fds.stdout, buf, (size_t)r);
	} else if (strcmp(cmd, "init") == 0) {
		snprintf(buf, sizeof(buf), "args=%s log_level=%s fd=%d addr=%llu", init_args, init_level, init_fd,
			 (unsigned long long)init_addr);
		write_line(p->fds.stdout, buf);
	} else if (strcmp(cmd, "block") == 0) {
		pthread_mutex_lock(&lock);
		while (!p->killed)
			pthread_cond_wait(&cond, &lock);
		code = 128 + p->killed;
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	release(p);
	pthread_mutex_unlock(&lock);
	*exit_value = code;
	return 0;
}

int pal_init(const void *attr)
{
	if (!attr)
		return -EINVAL;
#if PAL_VERSION >= 3
	const pal_attr_v3_t *a = attr;
	return do_init(a->attr_v1.args, a->attr_v1.log_level, a->fd, a->addr);
#else
	const struct pal_attr_t *a = attr;
	return do_init(a->args, a->log_level, -1, 0);
#endif
}

int pal_destroy(void)
{
	if (!initialized)
		return -EINVAL;
	initialized = 0;
	return 0;
}

#if PAL_VERSION == 1
int pal_exec(char *path, char *argv[], struct pal_stdio_fds *stdio, int *exit_code)
{
	(void)path;
	if (!stdio || !exit_code)
		return -EINVAL;
	int pid = create(argv, NULL, stdio);
	if (pid < 0)
		return pid;
	return run(pid, exit_code);
}
#else
int pal_get_version(void)
{
	return PAL_CLAIMED_VERSION;
}

#ifndef PAL_OMIT_CREATE_PROCESS
int pal_create_process(struct pal_create_process_args *args)
{
	if (!args || !args->stdio || !args->pid)
		return -EINVAL;
	int pid = create(args->argv, args->env, args->stdio);
	if (pid < 0)
		return pid;
	*args->pid = pid;
	return 0;
}
#endif

int pal_exec(struct pal_exec_args *args)
{
	if (!args || !args->exit_value)
		return -EINVAL;
	return run(args->pid, args->exit_value);
}

int pal_kill(int pid, int sig)
{
	if (sig <= 0 || sig >= 65)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	int hit = 0;
	for (int i = 1; i <= MAX_PROCS; i++)
		if (procs[i].used && (pid == -1 || pid == 0 || pid == i)) {
			procs[i].killed = sig;
			hit = 1;
		}
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return (hit || pid <= 0) ? 0 : -ESRCH;
}
#endif

#if PAL_VERSION >= 3
int pal_get_local_report(void *targetinfo, int targetinfo_len, void *report, int *report_len)
{
	static const char tag[] = "c-pal-report:";
	if (!report_len || targetinfo_len < 0 || (targetinfo_len > 0 && !targetinfo))
		return -EINVAL;
	int need = (int)(sizeof(tag) - 1) + targetinfo_len;
	if (!report || *report_len < need) {
		*report_len = need;
		return -ENOSPC;
	}
	memcpy(report, tag, sizeof(tag) - 1);
	if (targetinfo_len)
		memcpy((char *)report + sizeof(tag) - 1, targetinfo, (size_t)targetinfo_len);
	*report_len = need;
	return 0;
}
#endif
