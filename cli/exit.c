/* SPDX-License-Identifier: Apache-2.0 */
/* The one place the threatsync command turns engine error codes into sysexits. */
#include "cli/cli.h"

int cli_exit_code(int code, int fallback)
{
	switch (code) {
	case TS_E_USAGE:
		return EX_USAGE;
	case TS_E_INVALID:
		return EX_DATAERR;
	case TS_E_NOTFOUND:
		return EX_NOINPUT;
	case TS_E_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case TS_E_INTERNAL:
		return EX_SOFTWARE;
	case TS_E_SYSTEM:
		return EX_OSERR;
	case TS_E_CREATE:
		return EX_CANTCREAT;
	case TS_E_IO:
		return EX_IOERR;
	case TS_E_BUSY:
		return EX_TEMPFAIL;
	case TS_E_DENIED:
		return EX_NOPERM;
	case TS_E_CONFIG:
		return EX_CONFIG;
	default:
		return fallback;
	}
}
