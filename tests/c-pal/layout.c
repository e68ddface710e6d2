/* Prints the size and member offsets of every PAL ABI struct, one "name value" per line;
 * the layout test compares them with the Rust #[repr(C)] types. */
#include <stddef.h>
#include <stdio.h>
#include "pal_api.h"

#define P(name, v) printf("%s %zu\n", name, (size_t)(v))

int main(void)
{
	P("pal_attr_t.size", sizeof(struct pal_attr_t));
	P("pal_attr_t.align", _Alignof(struct pal_attr_t));
	P("pal_attr_t.args", offsetof(struct pal_attr_t, args));
	P("pal_attr_t.log_level", offsetof(struct pal_attr_t, log_level));
	P("pal_attr_v3_t.size", sizeof(pal_attr_v3_t));
	P("pal_attr_v3_t.align", _Alignof(pal_attr_v3_t));
	P("pal_attr_v3_t.attr_v1", offsetof(pal_attr_v3_t, attr_v1));
	P("pal_attr_v3_t.fd", offsetof(pal_attr_v3_t, fd));
	P("pal_attr_v3_t.addr", offsetof(pal_attr_v3_t, addr));
	P("pal_stdio_fds.size", sizeof(struct pal_stdio_fds));
	P("pal_stdio_fds.align", _Alignof(struct pal_stdio_fds));
	P("pal_stdio_fds.stdin", offsetof(struct pal_stdio_fds, stdin));
	P("pal_stdio_fds.stdout", offsetof(struct pal_stdio_fds, stdout));
	P("pal_stdio_fds.stderr", offsetof(struct pal_stdio_fds, stderr));
	P("pal_create_process_args.size", sizeof(struct pal_create_process_args));
	P("pal_create_process_args.align", _Alignof(struct pal_create_process_args));
	P("pal_create_process_args.path", offsetof(struct pal_create_process_args, path));
	P("pal_create_process_args.argv", offsetof(struct pal_create_process_args, argv));
	P("pal_create_process_args.env", offsetof(struct pal_create_process_args, env));
	P("pal_create_process_args.stdio", offsetof(struct pal_create_process_args, stdio));
	P("pal_create_process_args.pid", offsetof(struct pal_create_process_args, pid));
	P("pal_exec_args.size", sizeof(struct pal_exec_args));
	P("pal_exec_args.align", _Alignof(struct pal_exec_args));
	P("pal_exec_args.pid", offsetof(struct pal_exec_args, pid));
	P("pal_exec_args.exit_value", offsetof(struct pal_exec_args, exit_value));
	return 0;
}
