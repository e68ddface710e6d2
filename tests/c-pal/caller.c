/* A C *caller* of the PAL API, built the way the original rune's cgo glue called PALs: it proves
 * that PALs written in Rust with pal::export_pal! work from C unchanged.
 *
 *   caller <pal.so> <runtime args> <payload argv...>
 *
 * Prints "version=N", runs the payload with this process's stdio and the environment
 * {"CALLER_ENV=from c caller"}, prints "exit=N", for v3 also "report_len=N" (target info: 512
 * zero bytes), then calls pal_destroy. Any PAL failure prints "error: <call> <ret>" and exits 1.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal_api.h"

#define FAIL(what, ret)                                   \
	do {                                                  \
		printf("error: %s %d\n", what, (int)(ret));        \
		return 1;                                         \
	} while (0)

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: caller <pal.so> <args> <payload argv...>\n");
		return 2;
	}
	void *dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		printf("error: dlopen %s\n", dlerror());
		return 1;
	}
	int (*get_version)(void) = (int (*)(void))dlsym(dl, "pal_get_version");
	void *init = dlsym(dl, "pal_init");
	void *exec = dlsym(dl, "pal_exec");
	int (*create)(struct pal_create_process_args *) = (int (*)(struct pal_create_process_args *))dlsym(dl, "pal_create_process");
	int (*destroy)(void) = (int (*)(void))dlsym(dl, "pal_destroy");
	int (*report)(void *, int, void *, int *) = (int (*)(void *, int, void *, int *))dlsym(dl, "pal_get_local_report");
	int version = get_version ? get_version() : 1;
	printf("version=%d\n", version);
	fflush(stdout);
	if (!init || !exec || !destroy)
		FAIL("missing symbol", 0);

	int ret;
	if (version >= 3) {
		pal_attr_v3_t attr = {{argv[2], "info"}, -1, 0};
		ret = ((int (*)(pal_attr_v3_t *))init)(&attr);
	} else {
		struct pal_attr_t attr = {argv[2], "info"};
		ret = ((int (*)(struct pal_attr_t *))init)(&attr);
	}
	if (ret < 0)
		FAIL("pal_init", ret);

	struct pal_stdio_fds fds = {0, 1, 2};
	char *env[] = {"CALLER_ENV=from c caller", NULL};
	int exit_value = -1;
	if (version == 1) {
		ret = ((int (*)(char *, char **, struct pal_stdio_fds *, int *))exec)(argv[3], &argv[3], &fds, &exit_value);
		if (ret < 0)
			FAIL("pal_exec", ret);
	} else {
		int pid = -1;
		struct pal_create_process_args cp = {argv[3], &argv[3], env, &fds, &pid};
		if (!create)
			FAIL("missing pal_create_process", 0);
		ret = create(&cp);
		if (ret < 0)
			FAIL("pal_create_process", ret);
		struct pal_exec_args ea = {pid, &exit_value};
		ret = ((int (*)(struct pal_exec_args *))exec)(&ea);
		if (ret < 0)
			FAIL("pal_exec", ret);
	}
	printf("exit=%d\n", exit_value);
	if (version >= 3 && report) {
		static char ti[512];
		char buf[4096];
		int len = sizeof(buf);
		ret = report(ti, sizeof(ti), buf, &len);
		if (ret < 0)
			printf("report_error=%d\n", ret);
		else
			printf("report_len=%d\n", len);
	}
	ret = destroy();
	if (ret < 0)
		FAIL("pal_destroy", ret);
	return 0;
}
