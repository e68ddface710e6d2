/* The Enclave Runtime PAL C API, versions 1-3, as a caller and a PAL see it on x86-64
 * (natural alignment, not packed). Written from the layout facts in
 * /work/shared/specs/pal-and-rune.md; used by the layout test and by test_pal.c. */
#ifndef PAL_API_H
#define PAL_API_H
#include <stdint.h>

struct pal_attr_t {            /* v1/v2 pal_init attribute; also pal_attr_v1_t */
	const char *args;
	const char *log_level;
};
typedef struct pal_attr_t pal_attr_v1_t;

typedef struct {               /* v3 pal_init attribute */
	pal_attr_v1_t attr_v1;
	int fd;
	uint64_t addr;
} pal_attr_v3_t;

struct pal_stdio_fds {
	int stdin, stdout, stderr;
};

struct pal_create_process_args {
	char *path;
	char **argv;                  /* NULL-terminated */
	char **env;                   /* NULL-terminated */
	struct pal_stdio_fds *stdio;
	int *pid;
};

struct pal_exec_args {
	int pid;
	int *exit_value;
};

#endif
