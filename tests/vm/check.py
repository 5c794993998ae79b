#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Host-side assertions of the VM tier.

Reads one guest console log (see guest-lib.sh for the marker protocol), checks
every scenario against what the kernel under test must have reported, prints
PASS/FAIL per check with actual and expected values, and ends with
"kernel K: N passed, N failed".  Exit status 1 when anything failed.
"""
import argparse
import json
import sys

MARK = "@@BNVM@@ "

SUBTYPES = {
    "timeout": 1, "no_space": 2, "transport": 3, "target": 4, "nexus": 5,
    "medium": 6, "protection": 7, "kernel_resource": 8, "device_resource": 9,
    "io": 10, "not_supported": 11, "again": 12, "offline": 13,
    "zone_open_resource": 14, "zone_active_resource": 15,
    "duration_limit": 16, "invalid": 17,
}
# The errno each subtype is mapped from (DESIGN.md), as blkwatch prints it:
# the name and the positive number of errno(3).
ERRNO = {
    "timeout": ("ETIMEDOUT", 110), "no_space": ("ENOSPC", 28),
    "transport": ("ENOLINK", 67), "target": ("EREMOTEIO", 121),
    "nexus": ("EBADE", 52), "medium": ("ENODATA", 61),
    "protection": ("EILSEQ", 84), "io": ("EIO", 5),
    "not_supported": ("EOPNOTSUPP", 95), "offline": ("ENODEV", 19),
    "zone_open_resource": ("ETOOMANYREFS", 109),
    "zone_active_resource": ("EOVERFLOW", 75),
    "duration_limit": ("ETIME", 62), "invalid": ("EINVAL", 22),
}


class Scenario:
    def __init__(self, name):
        self.name = name
        self.facts = {}
        self.recs = {}
        self.logs = []
        self.ended = False

    def fact(self, key, default=None):
        v = self.facts.get(key)
        return v[-1] if v else default

    def errors(self, tag):
        return [r for r in self.recs.get(tag, []) if r.get("type") == "error"]

    def losses(self, tag):
        return [r for r in self.recs.get(tag, []) if r.get("type") == "loss"]


class Log:
    def __init__(self, path):
        self.scenarios = {}
        self.order = []
        self.boot = None
        self.done = False
        self.host = {}
        self.bad_lines = []
        self.kernel_problems = []
        with open(path, errors="replace") as f:
            for line in f:
                i = line.find(MARK)
                if i >= 0:
                    self._parse(line[i + len(MARK):].rstrip("\r\n"))

    def _sc(self, name):
        if name not in self.scenarios:
            self.scenarios[name] = Scenario(name)
            self.order.append(name)
        return self.scenarios[name]

    def _parse(self, text):
        kind, _, rest = text.partition(" ")
        if kind == "boot":
            self.boot = rest
        elif kind == "kernel_problem":
            self.kernel_problems.append(rest)
        elif kind == "done":
            self.done = True
        elif kind == "host":
            for kv in rest.split():
                k, _, v = kv.partition("=")
                self.host[k] = v
        elif kind == "begin":
            self._sc(rest)
        elif kind == "end":
            self._sc(rest).ended = True
        elif kind == "fact":
            name, key, value = (rest.split(" ", 2) + ["", ""])[:3]
            self._sc(name).facts.setdefault(key, []).append(value)
        elif kind == "rec":
            name, tag, payload = (rest.split(" ", 2) + ["", ""])[:3]
            try:
                rec = json.loads(payload)
            except ValueError:
                rec = {"type": "unparsable", "text": payload}
                self.bad_lines.append(payload)
            self._sc(name).recs.setdefault(tag, []).append(rec)
        elif kind == "log":
            name, _, msg = rest.partition(" ")
            self._sc(name).logs.append(msg)


class Check:
    """Collects the failed assertions of one scenario."""

    def __init__(self):
        self.failures = []

    def eq(self, what, actual, expected):
        if actual != expected:
            self.failures.append(f"{what}: got {actual!r}, expected {expected!r}")
        return actual == expected

    def true(self, what, cond, detail=""):
        if not cond:
            self.failures.append(f"{what}{': ' + detail if detail else ''}")
        return bool(cond)


def kernel_at_least(kernel, major, minor):
    parts = kernel.split(".")
    return (int(parts[0]), int(parts[1])) >= (major, minor)


def expect_io(c, s, *results):
    """What the application saw: bnvm-io's outcomes, in order ("ENODATA 1", ...)."""
    c.eq("I/O outcome seen by the application", s.facts.get("io", []), list(results))


def expect_records(c, s, tag, n, subtype, op, sector, nr_sectors, exact=True):
    """tag's watcher delivered n error records, each naming the scenario's
    disk (dev as stat() shows it), the subtype and its errno, the operation
    and the failed range."""
    recs = s.errors(tag)
    if exact:
        c.eq(f"{tag}: number of error records", len(recs), n)
    else:
        c.true(f"{tag}: at least {n} error records", len(recs) >= n, f"got {len(recs)}")
    c.eq(f"{tag}: watcher exit status", s.fact(f"{tag}.exit"), "0")
    c.eq(f"{tag}: watcher had to be killed", s.fact(f"{tag}.timed_out"), None)
    errname, errno = ERRNO[subtype]
    ops = op if isinstance(op, list) else [op] * len(recs)
    sectors = sector if isinstance(sector, list) else [sector] * len(recs)
    nrs = nr_sectors if isinstance(nr_sectors, list) else [nr_sectors] * len(recs)
    for i, r in enumerate(recs[:n]):
        p = f"{tag} record {i}"
        c.eq(f"{p} dev (st_rdev of /dev/{s.fact('disk')})", r.get("dev"), s.fact("dev"))
        c.eq(f"{p} disk", r.get("disk"), s.fact("disk"))
        c.eq(f"{p} subtype", r.get("subtype"), subtype)
        c.eq(f"{p} subtype_nr", r.get("subtype_nr"), SUBTYPES[subtype])
        c.eq(f"{p} error", r.get("error"), errname)
        c.eq(f"{p} errno", r.get("errno"), errno)
        if i < len(ops):
            c.eq(f"{p} op", r.get("op"), ops[i])
        if i < len(sectors) and sectors[i] is not None:
            c.eq(f"{p} sector", r.get("sector"), sectors[i])
        if i < len(nrs) and nrs[i] is not None:
            c.eq(f"{p} nr_sectors", r.get("nr_sectors"), nrs[i])
    return recs


# --- scenarios -----------------------------------------------------------------
# Each takes (check, scenario, kernel).  The values are what the kernel
# reports for the I/O the guest issued; comments say why.

def scsi_medium(c, s, k):
    # One 8-sector READ(10) at 1000 hitting the bad LBA 1004: scsi_debug's
    # sense data makes SCSI fail the whole command, so the record covers the
    # request (the kernel's own "critical medium error" line says the same).
    expect_io(c, s, "ENODATA 1")
    expect_records(c, s, "bpf", 1, "medium", "read", 1000, 8)

def scsi_identity(c, s, k):
    # The guest has no udev: blkwatch --identity takes the disk's identity
    # from sysfs, which shows what scsi_debug answered to INQUIRY (vendor,
    # model), VPD page 0x80 (the unit serial number) and page 0x83 (the NAA
    # designator, device/wwid).  Each field of the record must be what sysfs
    # says; the partition is the MBR one the guest wrote.
    expect_io(c, s, "ENODATA 1")
    recs = expect_records(c, s, "bpf", 1, "medium", "read", 7000, 8)
    sysv = {key: s.fact(f"sys_{key}") for key in
            ("vendor", "model", "wwid", "disk_wwid", "vpd80", "part_start")}
    absent = lambda v: None if v in (None, "-") else v
    # scsi_debug's own strings, so that an empty sysfs cannot pass as "equal".
    c.eq("sysfs device/vendor", sysv["vendor"], "Linux")
    c.eq("sysfs device/model", sysv["model"], "scsi_debug")
    c.true("sysfs device/wwid is an NAA designator", (sysv["wwid"] or "").startswith("naa."),
           f"got {sysv['wwid']!r}")
    c.true("sysfs device/vpd_pg80 has a serial", absent(sysv["vpd80"]), f"got {sysv['vpd80']!r}")
    c.eq("sysfs partition start", sysv["part_start"], "2048")
    # The library prefers the disk's own wwid attribute (NVMe), then the SCSI device's.
    wwn = absent(sysv["disk_wwid"]) or absent(sysv["wwid"])
    for i, r in enumerate(recs[:1]):
        p = f"bpf record {i}"
        c.eq(f"{p} identity_error", r.get("identity_error"), None)
        c.eq(f"{p} model (sysfs device/model)", r.get("model"), sysv["model"])
        c.eq(f"{p} wwn (sysfs wwid)", r.get("wwn"), wwn)
        c.eq(f"{p} serial (sysfs device/vpd_pg80)", r.get("serial"), absent(sysv["vpd80"]))
        # blkwatch leaves out what is not known: no udev, no by-id links;
        # nothing on the partition, nothing mounted.
        c.eq(f"{p} fields not known", sorted({"by_id", "fs_type", "fs_uuid", "mount"} & set(r)), [])
        c.eq(f"{p} partition", r.get("partition"), s.fact("partition"))
        c.eq(f"{p} part_offset (sector - partition start)", r.get("part_offset"),
             7000 - int(sysv["part_start"] or 0))


def scsi_timeout(c, s, k):
    # Every try of the READ times out; after the retries SCSI completes it
    # with DID_TIME_OUT, which becomes BLK_STS_IOERR, and sd offlines the disk
    # after two medium-access timeouts.  The block layer never sees a
    # timeout status from SCSI.
    expect_io(c, s, "EIO 1")
    expect_records(c, s, "bpf", 1, "io", "read", 2048, 8)
    c.eq("disk state after the timeouts", s.fact("device_state"), "offline")


def scsi_offline(c, s, k):
    # scsi_device_state_check() rejects I/O to an SDEV_OFFLINE device with
    # BLK_STS_IOERR on 6.1 and 6.12 alike; BLK_STS_OFFLINE is only for the
    # transient states of a device being removed (see docs/vm-tests.md).
    expect_io(c, s, "EIO 1")
    expect_records(c, s, "bpf", 1, "io", "read", 4096, 8)


def null_badblocks(c, s, k):
    # null_blk fails the whole request that touches a bad block (2052-2053).
    expect_io(c, s, "EIO 1", "EIO 1", "EIO 1")
    expect_records(c, s, "bpf", 3, "io", ["read", "write", "discard"],
                   2048, [8, 16, 8])


def null_timeout(c, s, k):
    c.eq("io_timeout set", s.fact("io_timeout_ms"), "500")
    expect_io(c, s, "ETIMEDOUT 1")
    expect_records(c, s, "bpf", 1, "timeout", "read", 64, 8)


def scsi_dif(c, s, k):
    # ABORTED COMMAND with additional sense 0x10 (DIF): no retry, PROTECTION.
    expect_io(c, s, "EILSEQ 1")
    expect_records(c, s, "bpf", 1, "protection", "read", 3000, 8)


# scsi_inject: case name -> subtype; "duration" is completed with RQF_QUIET,
# which suppresses block_rq_error (and the kernel's log line) but not
# block_rq_complete.
INJECT = [("nexus", "nexus"), ("transport", "transport"), ("target", "target"),
          ("no_space", "no_space"), ("protection", "protection"),
          ("zone_open", "zone_open_resource"), ("medium", "medium"),
          ("duration", "duration_limit"), ("sentinel", "medium")]


def scsi_inject(c, s, k):
    cases = [v.split() for v in s.facts.get("case", [])]
    c.eq("injected cases", [x[0] for x in cases], [n for n, _ in INJECT])
    c.eq("I/O outcome seen by the application", s.facts.get("io", []),
         [ERRNO[sub][0] + " 1" for _, sub in INJECT])
    sectors = {x[0]: int(x[1]) for x in cases if len(x) == 2}
    loud = [(n, sub) for n, sub in INJECT if n != "duration"]
    for tag, want in (("bpf", loud), ("complete", INJECT)):
        recs = s.errors(tag)
        c.eq(f"{tag}: records (subtype, sector)",
             [(r.get("subtype"), r.get("sector")) for r in recs],
             [(sub, sectors.get(n)) for n, sub in want])
        c.eq(f"{tag}: watcher exit status", s.fact(f"{tag}.exit"), "0")
        for i, r in enumerate(recs):
            c.eq(f"{tag} record {i} dev", r.get("dev"), s.fact("dev"))
            c.eq(f"{tag} record {i} op/nr_sectors", (r.get("op"), r.get("nr_sectors")), ("read", 8))
            sub = r.get("subtype")
            if sub in ERRNO:
                c.eq(f"{tag} record {i} errno", (r.get("error"), r.get("errno"), r.get("subtype_nr")),
                     ERRNO[sub] + (SUBTYPES[sub],))


def scsi_zbc(c, s, k):
    # ILLEGAL REQUEST / UNALIGNED WRITE COMMAND -> BLK_STS_TARGET, no retry;
    # then the sentinel medium error.
    expect_io(c, s, "EREMOTEIO 1", "ENODATA 1")
    recs = s.errors("bpf")
    c.eq("records (subtype, op, sector, nr_sectors, errno)",
         [(r.get("subtype"), r.get("op"), r.get("sector"), r.get("nr_sectors"), r.get("errno"))
          for r in recs],
         [("target", "write", 8200, 8, 121), ("medium", "read", 4000, 8, 61)])
    c.true("records name the disk", all(r.get("dev") == s.fact("dev") for r in recs))
    c.eq("bpf: watcher exit status", s.fact("bpf.exit"), "0")


def null_zone_open(c, s, k):
    expect_io(c, s, "OK 1", "OK 1", "ETOOMANYREFS 1")
    expect_records(c, s, "bpf", 1, "zone_open_resource", "write", 2 * 8192, 8)


def null_zone_active(c, s, k):
    expect_io(c, s, "OK 1", "OK 1", "EOVERFLOW 1")
    expect_records(c, s, "bpf", 1, "zone_active_resource", "write", 2 * 8192, 8)


def bpf_complete(c, s, k):
    # The same four failed reads through both attach points.
    expect_io(c, s, "EIO 4")
    a = expect_records(c, s, "bpf", 4, "io", "read", 512, 8)
    b = expect_records(c, s, "complete", 4, "io", "read", 512, 8)
    strip = lambda recs: [{x: r.get(x) for x in r if x not in ("time", "time_ns")} for r in recs]
    c.eq("block_rq_error and block_rq_complete records agree", strip(a), strip(b))


def kmsg_burst(c, s, k):
    caused = int(s.fact("caused", "0"))
    c.eq("I/O outcome seen by the application", s.facts.get("io", []),
         [f"EIO {caused - 1}", "EIO 1"])
    # bpf: every error, in order.
    expect_records(c, s, "bpf", caused, "io", "read", [512] * (caused - 1) + [4096], 8)
    # kmsg: what the log kept, plus what it said it suppressed, is everything.
    recs = s.recs.get("kmsg", [])
    errors = s.errors("kmsg")
    lost = sum(int(r.get("nr_lost", 0)) for r in s.losses("kmsg"))
    c.eq("kmsg: watcher exit status (SIGTERM)", s.fact("kmsg.exit"), "0")
    c.eq("kmsg: error records + reported loss", len(errors) + lost, caused)
    c.true("kmsg: the burst overran the printk rate limit (loss reported)", lost > 0,
           f"records {len(errors)}, loss {lost}")
    c.eq("kmsg: record types, loss just before the last error",
         [r.get("type") for r in recs][-2:], ["loss", "error"])
    for i, r in enumerate(errors):
        c.eq(f"kmsg record {i} (dev, disk, subtype, op, errno)",
             (r.get("dev"), r.get("disk"), r.get("subtype"), r.get("op"), r.get("errno")),
             (s.fact("dev"), s.fact("disk"), "io", "read", 5))
        c.true(f"kmsg record {i} sector is a failed one", r.get("sector") in (512, 4096),
               f"got {r.get('sector')}")
    if errors:
        c.eq("kmsg: last record is the last error", errors[-1].get("sector"), 4096)


def storm(c, s, k):
    caused = int(s.fact("caused", "0"))
    received, lost = int(s.fact("received", "0")), int(s.fact("lost", "0"))
    c.eq("errors caused by two concurrent readers", caused, 10000)
    c.eq("bpf: records + reported loss = errors caused", received + lost, caused)


def missed(c, s, k):
    # Reported, not asserted: how many errors the kernel traced for which it
    # ran no program, on each attach path; asserted: blkwatch's promise.
    caused, traced = int(s.fact("caused", "0")), int(s.fact("traced", "0"))
    received, lost = int(s.fact("received", "0")), int(s.fact("lost", "0"))
    tp, btf = s.fact("bare_matched"), s.fact("bare_btf_matched")
    print(f"  missed ({k}): caused {caused}, traced {traced}, blkwatch received {received} "
          f"+ reported lost {lost}; bench-bare tracepoint/ runs {tp}, tp_btf runs {btf}")
    c.eq("errors caused by two concurrent readers", caused, 2 * 20000)
    c.eq("the kernel traced every error", traced, caused)
    c.eq("bpf: records + reported loss = errors traced", received + lost, traced)


def daemon(c, s, k):
    c.eq("daemon socket owner, group, mode", s.fact("socket"), "root:blknotify 660")
    c.eq("unprivileged blkwatch --source bpf refused (exit 1)", s.fact("direct_bpf_exit"), "1")
    expect_io(c, s, "EIO 3", "EIO 1")
    c.eq("monitor dev fact", s.fact("dev"), s.fact("nullb4_dev"))
    recs = expect_records(c, s, "monitor", 3, "io", "read", 512, 8)
    c.eq("monitor: watch IDs", [r.get("id") for r in recs], [7, 7, 7])
    c.eq("watch on unreadable nullb5 refused (exit 1)", s.fact("denied_exit"), "1")
    c.eq("watch on unreadable nullb5: had to be killed", s.fact("denied_timed_out"), None)
    c.eq("watch on unreadable nullb5: records", s.fact("denied_records"), "0")
    c.eq("blknotifyd exit status on SIGTERM", s.fact("daemon_exit"), "0")


def filters(c, s, k):
    # io errors on nullb6, then a timeout on nullb7.
    expect_io(c, s, "EIO 2", "ETIMEDOUT 1")
    devs = dict(v.split() for v in s.facts.get("devof", []))
    recs = s.errors("bydev")
    c.eq("bydev: (disk, dev, id, subtype)",
         [(r.get("disk"), r.get("dev"), r.get("id"), r.get("subtype")) for r in recs],
         [("nullb6", devs.get("nullb6"), 10, "io")] * 2 +
         [("nullb7", devs.get("nullb7"), 11, "timeout")])
    recs = s.errors("bysubtype")
    c.eq("bysubtype: (disk, subtype, id)",
         [(r.get("disk"), r.get("subtype"), r.get("id")) for r in recs],
         [("nullb7", "timeout", 0)])
    for tag in ("bydev", "bysubtype"):
        c.eq(f"{tag}: watcher exit status", s.fact(f"{tag}.exit"), "0")


def dm_stack(c, s, k):
    # linear, flakey, thin pool filled then out of space, sentinel
    expect_io(c, s, "EIO 1", "EIO 1", "OK 1", "OK 1", "ENOSPC 1", "EIO 1")
    devs = dict(v.split() for v in s.facts.get("devof", []))
    recs = s.errors("bpf")
    c.eq("bpf: watcher exit status", s.fact("bpf.exit"), "0")
    # dm-linear maps sector 512 to 2048 + 512 on nullb8; dm-flakey and
    # dm-thin's ENOSPC: nothing.
    c.eq("records (disk, dev, sector, nr_sectors, subtype)",
         [(r.get("disk"), r.get("dev"), r.get("sector"), r.get("nr_sectors"), r.get("subtype"))
          for r in recs],
         [("nullb8", devs.get("nullb8"), 2560, 8, "io"),
          ("nullb9", devs.get("nullb9"), 512, 8, "io")])
    c.true("no record names the device-mapper disk",
           all(r.get("dev") != devs.get("bnlinear") for r in recs))


CHECKS = {
    "scsi_medium": scsi_medium,
    "scsi_identity": scsi_identity,
    "scsi_timeout": scsi_timeout,
    "scsi_offline": scsi_offline,
    "null_badblocks": null_badblocks,
    "null_timeout": null_timeout,
    "scsi_dif": scsi_dif,
    "scsi_inject": scsi_inject,
    "scsi_zbc": scsi_zbc,
    "null_zone_open": null_zone_open,
    "null_zone_active": null_zone_active,
    "bpf_complete": bpf_complete,
    "filters": filters,
    "dm_stack": dm_stack,
    "kmsg_burst": kmsg_burst,
    "storm": storm,
    "daemon": daemon,
    "missed": missed,
}
# Scenarios that need a newer kernel than the oldest one tested:
# scsi_debug's per-command error injection (debugfs "error") came in 6.7.
MIN_KERNEL = {"scsi_inject": (6, 7)}
# Scenarios run only when asked for (tests/vm/run -s NAME): long storms for bench/RESULTS.md.
OPT_IN = {"missed"}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kernel", required=True, help="kernel series under test, e.g. 6.12")
    ap.add_argument("--only", action="append", default=[], help="check only this scenario")
    ap.add_argument("--timeout", default="?", help="the VM's time limit, for messages")
    ap.add_argument("log")
    a = ap.parse_args()
    k = a.kernel
    try:
        log = Log(a.log)
    except OSError as e:
        print(f"FAIL {k} console log: {e}")
        print(f"kernel {k}: 0 passed, 1 failed")
        return 1

    passed = failed = 0

    def report(name, c, logs=()):
        nonlocal passed, failed
        if c.failures:
            failed += 1
            print(f"FAIL {k} {name}")
            for f in c.failures:
                print(f"    {f}")
            for line in logs[-40:]:
                print(f"    | {line}")
        else:
            passed += 1
            print(f"PASS {k} {name}")

    def qemu_end():
        rc = log.host.get("qemu_rc", "?")
        if rc == "124":
            return (f"QEMU killed at the {a.timeout} s limit (BLKNOTIFY_VM_TIMEOUT); "
                    f"see {a.log}")
        return f"QEMU exited with status {rc} after {log.host.get('vm_seconds', '?')} s; see {a.log}"

    c = Check()
    c.true("the VM booted", log.boot is not None, f"no boot marker from the guest: {qemu_end()}")
    report("boot", c)
    if log.boot is None:
        print(f"kernel {k}: {passed} passed, {failed} failed")
        return 1
    c = Check()
    c.true("the guest finished every scenario", log.done, f"no done marker: {qemu_end()}")
    c.eq("QEMU exit status", log.host.get("qemu_rc"), "0")
    c.eq("unparsable blkwatch output lines", log.bad_lines, [])
    c.eq("kernel warnings or oopses", log.kernel_problems, [])
    sanitizer = [f"{n}: {m}" for n in log.order for m in log.scenarios[n].logs
                 if any(x in m for x in ("Sanitizer", "runtime error:"))]
    c.eq("sanitizer reports from the guest's programs", sanitizer, [])
    report("guest", c)

    wanted = a.only or [n for n in CHECKS if n not in OPT_IN]
    for name in wanted:
        fn = CHECKS.get(name)
        c = Check()
        if fn is None:
            c.true(f"scenario {name} has a check", False)
            report(name, c)
            continue
        mk = MIN_KERNEL.get(name)
        if mk and not kernel_at_least(k, *mk):
            continue
        s = log.scenarios.get(name)
        if s is None:
            c.true("scenario ran", False, "no begin marker")
            report(name, c)
            continue
        c.true("scenario finished", s.ended, "no end marker")
        fn(c, s, k)
        report(name, c, s.logs)

    print(f"kernel {k}: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
