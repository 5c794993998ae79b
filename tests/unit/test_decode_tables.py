#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every code lib/decode.c names, against tables it was not written from.

SCSI sense keys and ASC/ASCQ: sg3-utils' sg_decode_sense (its own copy of
T10's asc-num.txt).  NVMe status codes: libnvme's nvme_status_to_string().
Each name must equal the reference's (case and the reference's trailing
explanation aside).  TAP output; argv[1] is decode_dump (every name the
library has, one a line).
"""
import ctypes
import subprocess
import sys

import shutil

try:
    nvme = ctypes.CDLL("libnvme.so.1")
except OSError:
    nvme = None
if not shutil.which("sg_decode_sense") or nvme is None:
    print("1..1\nnot ok 1 names_match_independent_tables # needs sg_decode_sense (sg3-utils) "
          "and libnvme.so.1 (libnvme1): apt-get install sg3-utils libnvme1")
    sys.exit(1)
names = subprocess.run([sys.argv[1]], capture_output=True, text=True, check=True).stdout
nvme.nvme_status_to_string.restype = ctypes.c_char_p
nvme.nvme_status_to_string.argtypes = [ctypes.c_int, ctypes.c_bool]

n = 0
bad = []


def check(what, ours, ref):
    global n
    n += 1
    if ours.lower() != ref.lower():
        bad.append(f"{what}: ours {ours!r}, reference {ref!r}")


def sg_decode(key, asc, ascq):
    sense = [0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq]
    out = subprocess.run(["sg_decode_sense"] + [f"{b:02x}" for b in sense],
                         capture_output=True, text=True, check=True).stdout
    k = out.split("Sense key: ", 1)[1].split("\n", 1)[0].strip()
    a = out.split("Additional sense: ", 1)[1].split("\n", 1)[0].strip()
    return k, a


for line in names.splitlines():
    kind, rest = line.split(" ", 1)
    if kind == "sense":
        key, ours = rest.split(" ", 1)
        key = int(key, 16)
        ref, _ = sg_decode(key, 0, 0)
        ref = ref.replace(f"({key})", "")	# sg3-utils: "Vendor specific(9)"
        check(f"sense key {key:#x}", ours, ref)
    elif kind == "asc":
        asc, ascq, ours = rest.split(" ", 2)
        asc, ascq = int(asc, 16), int(ascq, 16)
        _, ref = sg_decode(3, asc, ascq)
        check(f"asc {asc:02X}/{ascq:02X}", ours, ref)
    elif kind == "nvme":
        code, ours = rest.split(" ", 1)
        code = int(code, 16)
        ref = nvme.nvme_status_to_string(code, False).decode().split(":", 1)[0]
        check(f"NVMe {code:#05x}", ours, ref)

print("1..1")
for b in bad:
    print(f"# {b}")
print(f"# {n} names compared, {len(bad)} differ")
print(("ok" if not bad and n > 200 else "not ok") + " 1 names_match_independent_tables")
sys.exit(1 if bad else 0)
