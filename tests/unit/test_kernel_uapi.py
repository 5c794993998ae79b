#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The kernel series' <linux/block_notify.h> and ours describe the same records.

Every blknotify source delivers the bytes of include/blknotify/block_notify.h;
the native one (the patch series in kernel/) has its own copy of the layout in
include/uapi/linux/block_notify.h.  This test takes that header out of the
patch that creates it, compiles the same dumper against each header, and
compares what they print: the size, offset and width of every field of the
records, and the value of every BLOCK_NOTIFY_* / NOTIFY_BLOCK_* /
BLOCK_NOTIFICATION_* constant either header defines (apart from the
library's own helpers, listed below).  A name one header has and the other
lacks is a failure too.

Usage: test_kernel_uapi.py SOURCE_DIR CC [CC ARGS...]   (TAP; no privilege)
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

# Ours only: reading helpers and bounds of the library, not record layout.
OURS_ONLY = {
    'BLOCK_NOTIFY_WATCH_TYPE__NR',	# the library's filter check
    'BLOCK_NOTIFICATION_MAX_SIZE',	# the watch queue's limit, for buffers
    'BLOCK_NOTIFICATION_LOSS_SIZE',	# sizeof(struct block_notification_loss), compared below
    'BLOCK_NOTIFY_WATCH_ID_MAX',	# the watch queue's 8-bit IDs
    'BLOCK_NOTIFY_RECORD_LEN', 'BLOCK_NOTIFY_RECORD_OK', 'BLOCK_NOTIFY_RECORD_NEXT',
    'BLOCK_NOTIFY_CAPACITY_UNKNOWN',	# uevent sources only: the kernel always knows the old size
}
# The kernel's only: the watch ioctl, which the library declares in lib/queue.h.
KERNEL_ONLY = set()

STRUCTS = ('block_notification', 'block_notification_loss')
NAME = re.compile(r'\b((?:BLOCK_NOTIFY|NOTIFY_BLOCK|BLOCK_NOTIFICATION)_[A-Z0-9_]*)\b')

n = 0
failed = 0


def ok(desc):
    global n
    n += 1
    print(f'ok {n} - {desc}')


def not_ok(desc, *detail):
    global n, failed
    n += 1
    failed += 1
    print(f'not ok {n} - {desc}')
    for d in detail:
        for line in str(d).splitlines():
            print(f'# {line}')


def series_header(src):
    """include/uapi/linux/block_notify.h as the series creates it."""
    for patch in sorted(glob.glob(os.path.join(src, 'kernel', '0*.patch'))):
        text = open(patch, encoding='utf-8').read()
        m = re.search(r'^\+\+\+ b/include/uapi/linux/block_notify\.h\n@@ -0,0 \+1,(\d+) @@\n',
                      text, re.M)
        if not m:
            continue
        lines = text[m.end():].split('\n')[:int(m.group(1))]
        if not all(l.startswith('+') for l in lines):
            return patch, None
        return patch, '\n'.join(l[1:] for l in lines) + '\n'
    return None, None


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    return re.sub(r'//[^\n]*', ' ', text)


def constants(text):
    """Object-like macros and enumerators with our prefixes."""
    text = strip_comments(text)
    names = set()
    for m in re.finditer(r'^\s*#\s*define\s+(\w+)(\(?)', text, re.M):
        if not m.group(2) and NAME.fullmatch(m.group(1)):
            names.add(m.group(1))
    for body in re.findall(r'\benum\s+\w*\s*\{(.*?)\}', text, re.S):
        for m in re.finditer(r'(\w+)\s*(?:=[^,]*)?(?:,|$)', body.strip()):
            if NAME.fullmatch(m.group(1)):
                names.add(m.group(1))
    return names


def fields(text, struct):
    """Member names of a struct, through anonymous unions."""
    text = strip_comments(text)
    m = re.search(r'\bstruct\s+' + struct + r'\s*\{', text)
    if not m:
        return None
    depth, i = 1, m.end()
    while depth and i < len(text):
        depth += {'{': 1, '}': -1}.get(text[i], 0)
        i += 1
    body = text[m.end():i - 1]
    body = re.sub(r'\bunion\s*\{|\}\s*;', ' ', body)
    return [d.strip().split()[-1] for d in body.split(';') if d.strip()]


def dump(cc, workdir, header, names, members, tag):
    """Compile the dumper against one header; its output, or an error."""
    c = ['#include <stdio.h>', '#include <stddef.h>', f'#include "{header}"', 'int main(void)', '{']
    for s, ms in members.items():
        c.append(f'\tprintf("sizeof {s} %zu\\n", sizeof(struct {s}));')
        for f in ms:
            c.append(f'\tprintf("{s}.{f} %zu %zu\\n", offsetof(struct {s}, {f}), '
                     f'sizeof(((struct {s} *)0)->{f}));')
    for name in sorted(names):
        c.append(f'\tprintf("{name} %lld\\n", (long long)({name}));')
    c += ['\treturn 0;', '}']
    prog = os.path.join(workdir, f'dump-{tag}.c')
    exe = os.path.join(workdir, f'dump-{tag}')
    open(prog, 'w').write('\n'.join(c) + '\n')
    r = subprocess.run(cc + ['-o', exe, prog], capture_output=True, text=True)
    if r.returncode:
        return None, r.stderr
    r = subprocess.run([exe], capture_output=True, text=True)
    return r.stdout, r.stderr


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, cc = sys.argv[1], sys.argv[2:]
    print('TAP version 13')
    ours_path = os.path.join(src, 'include', 'blknotify', 'block_notify.h')
    ours = open(ours_path, encoding='utf-8').read()
    patch, theirs = series_header(src)
    if theirs is None:
        print(f'Bail out! no include/uapi/linux/block_notify.h created whole by kernel/0*.patch '
              f'({patch or "no patch has it"})')
        return 1
    ok(f'{os.path.basename(patch)} creates include/uapi/linux/block_notify.h')

    ours_names, their_names = constants(ours) - OURS_ONLY, constants(theirs) - KERNEL_ONLY
    missing = sorted(ours_names - their_names)
    extra = sorted(their_names - ours_names)
    if missing or extra:
        not_ok('both headers define the same constants',
               f'only in include/blknotify/block_notify.h: {" ".join(missing) or "-"}',
               f'only in the series: {" ".join(extra) or "-"}',
               'add them to the other header (or, for a library-only helper, to OURS_ONLY)')
    else:
        ok(f'both headers define the same {len(ours_names)} constants')

    members = {}
    for s in STRUCTS:
        a, b = fields(ours, s), fields(theirs, s)
        if a is None or b is None:
            not_ok(f'struct {s} is in both headers', f'ours: {a is not None}, series: {b is not None}')
            continue
        if a != b:
            not_ok(f'struct {s} has the same members in the same order', f'ours:   {a}', f'series: {b}')
        else:
            ok(f'struct {s} has the same {len(a)} members in the same order')
        members[s] = [f for f in a if f in b]

    # The series' header includes <linux/watch_queue.h>: the system's has the
    # structures (5.8+), and WATCH_TYPE_BLOCK_NOTIFY is checked from the patch.
    with tempfile.TemporaryDirectory(prefix='test_kernel_uapi.') as work:
        open(os.path.join(work, 'series.h'), 'w').write(theirs)
        names = ours_names & their_names
        out_ours, err_ours = dump(cc, work, os.path.abspath(ours_path), names, members, 'ours')
        out_theirs, err_theirs = dump(cc, work, 'series.h', names, members, 'series')
        if out_ours is None or out_theirs is None:
            not_ok('the dumper builds against both headers', err_ours or '', err_theirs or '')
        else:
            a, b = out_ours.splitlines(), out_theirs.splitlines()
            diff = [f'ours {x!r} series {y!r}' for x, y in zip(a, b) if x != y]
            if diff or len(a) != len(b):
                not_ok('every size, offset and value agrees', *diff)
            else:
                ok(f'every size, offset and value agrees ({len(a)} compared)')
            sizes = dict(l.rsplit(' ', 1) for l in a if l.startswith('sizeof '))
            if sizes.get('sizeof block_notification') == '72':
                ok('struct block_notification is 72 bytes (BLOCK_NOTIFICATION_SIZE_V2)')
            else:
                not_ok('struct block_notification is 72 bytes', sizes)

    m = re.search(r'^\+\s*WATCH_TYPE_BLOCK_NOTIFY\s*=\s*(\d+)', open(patch).read(), re.M)
    ours_type = re.search(r'#define\s+WATCH_TYPE_BLOCK_NOTIFY\s+(\d+)', ours)
    if m and ours_type and m.group(1) == ours_type.group(1):
        ok(f'WATCH_TYPE_BLOCK_NOTIFY is {m.group(1)} in both')
    else:
        not_ok('WATCH_TYPE_BLOCK_NOTIFY agrees',
               f'series: {m and m.group(1)}, ours: {ours_type and ours_type.group(1)}')

    print(f'1..{n}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
