#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SQL text reaches SQLite only as constants: no statement is built with
printf-style formatting.

Reads every C file under the given directories and follows, inside each
function, the SQL argument of every call that hands SQL to SQLite
(sqlite3_prepare*, sqlite3_exec, store_prepare, and every function that passes
one of its own parameters on as that argument, found to a fixpoint across the
files): the argument must not be, or come from a variable that is, the result
of ts_asprintf, snprintf, ts_buf_printf or another printf-style formatter
(assignments are followed through other variables). The migration runner
(engine/store/store.c: migration_commit, which stamps user_version) is the
only exception. Values are bound to statements with sqlite3_bind_* instead.

usage: sql_format_check.py ROOT DIR...       exit 1 and one line per finding
       sql_format_check.py --self-check DIR  the findings in DIR's files must be
                                             exactly the lines marked
                                             "expect: formatted SQL"
"""
import os
import re
import sys

SINKS = {"sqlite3_prepare": 1, "sqlite3_prepare_v2": 1, "sqlite3_prepare_v3": 1,
         "sqlite3_prepare16": 1, "sqlite3_prepare16_v2": 1, "sqlite3_prepare16_v3": 1,
         "sqlite3_exec": 1, "store_prepare": 1}
FORMATTERS = ("ts_asprintf", "ts_vasprintf", "asprintf", "vasprintf", "snprintf", "vsnprintf",
              "sprintf", "vsprintf", "ts_buf_printf", "ts_buf_vprintf", "sqlite3_mprintf",
              "sqlite3_vmprintf", "sqlite3_snprintf", "sqlite3_vsnprintf", "g_strdup_printf")
# (path relative to ROOT, function): the migration runner.
ALLOWED = {("engine/store/store.c", "migration_commit")}
MARK = "expect: formatted SQL"
FMT = "|".join(FORMATTERS)
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def strip(text):
    """Comments blanked and string/char literal contents replaced by 's',
    keeping every newline (so line numbers hold)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            body = re.sub(r"[^\n]", "s", text[i + 1:j])
            out.append(c + body + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(code):
    """(name, parameter names, body start, body end) of each function
    definition: a '{' in column 0 after a parameter list."""
    out = []
    depth = 0
    last_top = 0
    i = 0
    n = len(code)
    while i < n:
        c = code[i]
        if c == "{":
            if depth == 0 and (i == 0 or code[i - 1] == "\n"):
                sig = code[last_top:i]
                m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$",
                              sig)
                start = i
                j, d = i, 0
                while j < n:
                    if code[j] == "{":
                        d += 1
                    elif code[j] == "}":
                        d -= 1
                        if d == 0:
                            break
                    j += 1
                if m:
                    params = []
                    for p in m.group(2).split(","):
                        ids = IDENT.findall(p.split("[")[0])
                        params.append(ids[-1] if ids else "")
                    out.append((m.group(1), params, start, j))
                i = j + 1
                last_top = i
                continue
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ";" and depth == 0:
            last_top = i + 1
        i += 1
    return out


def call_args(code, open_paren):
    """The top-level arguments of the call whose '(' is at open_paren, and
    the index after its ')'."""
    args, depth, start = [], 0, open_paren + 1
    i = open_paren
    while i < len(code):
        c = code[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(code[start:i])
                return args, i + 1
        elif c == "," and depth == 1:
            args.append(code[start:i])
            start = i + 1
        i += 1
    return args, i


def bases(expr):
    """The variables an expression reads: identifiers not called, not
    members after '.'/'->', not ALL-CAPS constants."""
    out = []
    for m in IDENT.finditer(expr):
        name = m.group(0)
        before = expr[:m.start()].rstrip()
        after = expr[m.end():].lstrip()
        if after.startswith("(") or before.endswith(".") or before.endswith("->"):
            continue
        if name.isupper() or name in ("NULL", "sizeof", "const", "char"):
            continue
        out.append(name)
    return out


def formatted(body, var, depth=0):
    """The formatter that built var in body, following assignments, or None."""
    v = re.escape(var)
    m = re.search(r"\b%s\s*=\s*(%s)\s*\(" % (v, FMT), body) or \
        re.search(r"\b(%s)\s*\(\s*&?\s*%s\b" % (FMT, v), body)
    if m:
        return m.group(1)
    if depth >= 3:
        return None
    for a in re.finditer(r"\b%s\s*=\s*([^;=][^;]*);" % v, body):
        if re.search(r"\b(%s)\s*\(" % FMT, a.group(1)):
            return re.search(r"\b(%s)\s*\(" % FMT, a.group(1)).group(1)
        for b in bases(a.group(1)):
            if b != var:
                f = formatted(body, b, depth + 1)
                if f:
                    return f
    return None


def scan(files, root):
    """Findings (path, line, function, sink, formatter) over files."""
    parsed = []
    for path in files:
        with open(path, errors="replace") as f:
            code = strip(f.read())
        parsed.append((path, code, functions(code)))
    sinks = dict(SINKS)
    while True:
        findings, new = [], {}
        for path, code, funcs in parsed:
            rel = os.path.relpath(path, root)
            for name, params, start, end in funcs:
                body = code[start:end]
                for m in re.finditer(r"\b(%s)\s*\(" % "|".join(map(re.escape, sinks)), body):
                    sink = m.group(1)
                    args, _ = call_args(body, m.end() - 1)
                    if len(args) <= sinks[sink]:
                        continue
                    arg = args[sinks[sink]]
                    how = None
                    direct = re.search(r"\b(%s)\s*\(" % FMT, arg)
                    if direct:
                        how = direct.group(1)
                    for b in bases(arg):
                        if how:
                            break
                        how = formatted(body, b)
                        if not how and b in params and name not in sinks and \
                                (rel, name) not in ALLOWED:
                            new[name] = params.index(b)
                    if how and (rel, name) not in ALLOWED:
                        line = code.count("\n", 0, start + m.start()) + 1
                        findings.append((rel, line, name, sink, how))
        if all(k in sinks for k in new):
            return sorted(set(findings))
        sinks.update(new)


def c_files(dirs):
    out = []
    for d in dirs:
        for r, _, fs in os.walk(d):
            out.extend(os.path.join(r, f) for f in fs if f.endswith(".c"))
    return sorted(out)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--self-check":
        d = sys.argv[2]
        files = c_files([d])
        found = {(f, line) for f, line, *_ in scan(files, d)}
        marked = set()
        for path in files:
            with open(path) as fh:
                for i, text in enumerate(fh, 1):
                    if MARK in text:
                        marked.add((os.path.relpath(path, d), i))
        if not marked or found != marked:
            print(f"sql_format_check: FAIL: self-check: found {sorted(found)}, "
                  f"marked {sorted(marked)}", file=sys.stderr)
            return 1
        print(f"sql_format_check: self-check OK: the {len(marked)} planted statements found, "
              f"nothing else in {len(files)} files")
        return 0
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    files = c_files([os.path.join(root, d) for d in sys.argv[2:]])
    findings = scan(files, root)
    for rel, line, fn, sink, how in findings:
        print(f"{rel}:{line}: {fn}: SQL built with {how}() reaches {sink}(); bind the values "
              f"to a constant statement instead")
    if findings:
        return 1
    print(f"sql_format_check: OK: {len(files)} files, no SQL built with a formatter")
    return 0


if __name__ == "__main__":
    sys.exit(main())
