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
    recs = expect_records(c, s, "bpf", 1, "io", "read", 2048, 8)
    c.eq("disk state after the timeouts", s.fact("device_state"), "offline")
    # The record says the command timed out (host byte DID_TIME_OUT) and how
    # often SCSI retried it.
    for r in recs:
        c.eq("record transport", r.get("transport"), "scsi")
        c.eq("record (host_byte_name, opcode)", (r.get("host_byte_name"), r.get("opcode")),
             ("DID_TIME_OUT", 0x28))
        # Two tries after the first, then sd offlines the disk (6.1 and 6.12).
        c.eq("record retries", r.get("retries"), 2)


def expect_scsi_detail(c, p, r, sense=None, lba=None, retries=None, status=0x02, host=0,
                       opcode=0x28):
    """Record r carries the SCSI command's detail: status byte, host byte,
    opcode, sense key/ASC/ASCQ (or none), the sense data's LBA, retries."""
    c.eq(f"{p} transport", r.get("transport"), "scsi")
    c.eq(f"{p} (scsi_status, host_byte, opcode)",
         (r.get("scsi_status"), r.get("host_byte"), r.get("opcode")), (status, host, opcode))
    c.eq(f"{p} (sense_key, asc, ascq)",
         (r.get("sense_key"), r.get("asc"), r.get("ascq")) if sense else None,
         sense if sense else None)
    if sense is None:
        c.eq(f"{p} no sense data", "sense_key" in r, False)
    c.eq(f"{p} device_lba", r.get("device_lba"), lba)
    if retries is not None:
        c.eq(f"{p} retries", r.get("retries"), retries)


def scsi_detail(c, s, k):
    # MEDIUM ERROR 11/00 with the failing LBA in the sense data, no retry.
    expect_io(c, s, "ENODATA 1", "ENODATA 1")
    recs = expect_records(c, s, "bpf", 2, "medium", "read", [5000, 5004], 8)
    for i, r in enumerate(recs):
        expect_scsi_detail(c, f"bpf record {i}", r, sense=(3, 0x11, 0), lba=r.get("sector"),
                           retries=0)
        c.eq(f"bpf record {i} device_said", r.get("device_said"),
             f"MEDIUM ERROR 11/00 unrecovered read error (opcode 0x28), "
             f"device sector {r.get('sector')}, retries 0")


def scsi_detail_4k(c, s, k):
    c.eq("logical block size", s.fact("lbs"), "4096")
    expect_io(c, s, "ENODATA 1")
    for r in expect_records(c, s, "bpf", 1, "medium", "read", 40000, 8):
        expect_scsi_detail(c, "bpf record", r, sense=(3, 0x11, 0), lba=40000, retries=0)


def daemon_detail(c, s, k):
    c.eq("pins of the daemon's queue",
         s.fact("pins", "").split(),
         sorted(["bss", "config", "events", "link", "detail-__scsi_queue_insert",
                 "detail-scsi_check_sense", "detail-scsi_timeout"]))
    expect_io(c, s, "ENODATA 1")
    for r in expect_records(c, s, "d", 1, "medium", "read", 5000, 8):
        expect_scsi_detail(c, "record after the restart", r, sense=(3, 0x11, 0), lba=5000,
                           retries=0)


def scsi_soft(c, s, k):
    # Recovered errors at 100 and 200, one retry at 400 that succeeded,
    # five at 500 that did not; then the final error at 500.
    expect_io(c, s, "OK 1", "OK 1", "OK 1", "OK 1", "EIO 1")
    soft = [r for r in s.recs.get("soft", []) if r.get("type") == "soft"]
    c.eq("soft: watcher exit status", s.fact("soft.exit"), "0")
    c.eq("soft records (subtype, sector, nr_sectors, retries)",
         [(r.get("subtype"), r.get("sector"), r.get("nr_sectors"), r.get("retries"))
          for r in soft],
         [("recovered", 100, 8, 0), ("recovered", 200, 8, 0), ("retry", 400, 8, 1)] +
         [("retry", 500, 8, n) for n in range(1, 6)])
    for i, r in enumerate(soft):
        c.eq(f"soft record {i} (dev, op, class)", (r.get("dev"), r.get("op"), r.get("type")),
             (s.fact("dev"), "read", "soft"))
        expect_scsi_detail(c, f"soft record {i}", r,
                           sense=(1, 0x5d, 0) if r.get("subtype") == "recovered" else (0xb, 0x4b, 3))
    recs = expect_records(c, s, "bpf", 1, "io", "read", 500, 8)
    for r in recs:
        expect_scsi_detail(c, "final record", r, sense=(0xb, 0x4b, 3), retries=5)
    # block_rq_complete: the read at 400 succeeded after one retry (with the
    # detail of the try that failed), the one at 500 did not.
    recs = s.recs.get("complete", [])
    c.eq("complete: watcher exit status", s.fact("complete.exit"), "0")
    c.eq("complete: records (type, subtype, sector, retries)",
         [(r.get("type"), r.get("subtype"), r.get("sector"), r.get("retries")) for r in recs],
         [("soft", "retry_succeeded", 400, 1), ("error", "io", 500, 5)])
    for r in recs[:1]:
        expect_scsi_detail(c, "retry_succeeded record", r, sense=(0xb, 0x4b, 3), retries=1)


def scsi_storm(c, s, k):
    caused = int(s.fact("caused", "0"))
    recs = s.errors("bpf")
    lost = sum(r.get("nr_lost") or 0 for r in s.losses("bpf"))
    c.eq("errors caused by two concurrent readers", caused, 800)
    c.eq("records + reported loss = errors caused", len(recs) + lost, caused)
    c.eq("records without the SCSI detail",
         [r.get("sector") for r in recs if r.get("transport") != "scsi" or
          (r.get("sense_key"), r.get("asc"), r.get("ascq")) != (3, 0x11, 0)], [])
    c.eq("records whose device_lba is another request's",
         [(r.get("sector"), r.get("device_lba")) for r in recs
          if r.get("device_lba") != r.get("sector")], [])
    c.eq("one record per request", len({r.get("sector") for r in recs}), len(recs))


def nvme_blkdebug(c, s, k):
    # blkdebug fails the first read of 4096 and every read of 2048: QEMU says
    # Unrecovered Read Error (SCT 2, SC 0x81) without DNR; nvme retries it 5
    # times, then completes it with BLK_STS_MEDIUM.
    expect_io(c, s, "OK 1", "ENODATA 1", "OK 1")
    retry_hook = kernel_at_least(k, 6, 12)	# nvme_retry_req() has BTF of its own
    soft = [r for r in s.recs.get("soft", []) if r.get("type") == "soft"]
    c.eq("soft records (subtype, sector, retries, nvme status)",
         [(r.get("subtype"), r.get("sector"), r.get("retries"), r.get("status", 0) & 0x7ff)
          for r in soft],
         [("retry", 4096, 1, 0x281)] + [("retry", 2048, n, 0x281) for n in range(1, 6)]
         if retry_hook else [])
    for i, r in enumerate(soft):
        c.eq(f"soft record {i} (transport, opcode, dnr, name)",
             (r.get("transport"), r.get("opcode"), r.get("dnr"), r.get("nvme_status_name")),
             ("nvme", 0x02, False, "unrecovered read error"))
    # A kernel without a hook says so, once per queue, and still records.
    said = [m for m in s.logs if m.startswith("blkwatch plain stderr: ") and
            "BTF has no NVMe nvme_retry_req()" in m]
    c.eq("plain: missing NVMe retry hook logged", len(said), 0 if retry_hook else 1)
    for tag in ("status", "plain"):
        recs = expect_records(c, s, tag, 1, "medium", "read", 2048, 8)
        detail = tag == "status" or retry_hook
        for r in recs:
            c.eq(f"{tag} record transport", r.get("transport"), "nvme" if detail else "none")
            if detail:
                c.eq(f"{tag} record (nvme_sct, nvme_sc, dnr, opcode, retries)",
                     (r.get("nvme_sct"), r.get("nvme_sc"), r.get("dnr"), r.get("opcode"),
                      r.get("retries")), (2, 0x81, False, 0x02, 5))
                c.eq(f"{tag} record device_said", r.get("device_said", "").split(" (")[0],
                     "NVMe 0x281 unrecovered read error")


def vblk_blkdebug(c, s, k):
    # virtio-blk: the once-failing read, the always-failing one, then the
    # first again (now fine).  No retries; nothing the record could decode.
    expect_io(c, s, "EIO 1", "EIO 1", "OK 1")
    recs = expect_records(c, s, "bpf", 2, "io", "read", [4096, 2048], 8)
    for i, r in enumerate(recs):
        c.eq(f"bpf record {i} (transport, retries)", (r.get("transport"), r.get("retries")),
             ("none", None))


def vscsi_blkdebug(c, s, k):
    # QEMU's scsi-hd reports EIO as CHECK CONDITION, ABORTED COMMAND 00/06
    # (I/O process terminated), which SCSI retries: the read of 4096 succeeds
    # on its retry, the read of 2048 fails after 5.
    expect_io(c, s, "OK 1", "EIO 1")
    soft = [r for r in s.recs.get("soft", []) if r.get("type") == "soft"]
    c.eq("soft records (subtype, sector, retries)",
         [(r.get("subtype"), r.get("sector"), r.get("retries")) for r in soft],
         [("retry", 4096, 1)] + [("retry", 2048, n) for n in range(1, 6)])
    for i, r in enumerate(soft):
        expect_scsi_detail(c, f"soft record {i}", r, sense=(0xb, 0x00, 0x06))
    for r in expect_records(c, s, "bpf", 1, "io", "read", 2048, 8):
        expect_scsi_detail(c, "final record", r, sense=(0xb, 0x00, 0x06), retries=5)


def detail_cost(c, s, k):
    # 2000 good reads on scsi_debug and on NVMe: no program at the default
    # attach points ran.  --nvme-status's fentry on nvme_complete_rq() runs
    # for NVMe completions that are not batched: with the default scheduler
    # (none) nvme-pci batches them (reported, not asserted), with
    # mq-deadline it cannot: one run per completion, whose cost is reported.
    # Then one medium error runs the SCSI and block_rq_error programs of
    # both watchers: they were loaded all along.
    expect_io(c, s, "OK 2000", "OK 2000", "OK 2000", "ENODATA 1")
    c.true("NVMe scheduler before: none", "[none]" in (s.fact("nvme_sched") or ""),
           str(s.fact("nvme_sched")))

    def sums(key):
        runs, ns = {}, {}
        for v in s.facts.get(key, []):
            name, r, t = (v.split() + ["0", "0"])[:3]
            runs[name] = runs.get(name, 0) + int(r)
            ns[name] = ns.get(name, 0) + int(t)
        return runs, ns
    runs, ns = sums("prog")
    runs2, ns2 = sums("prog2")
    runs3, _ = sums("prog3")
    default = ["block_rq_error", "bn_scsi_check_s", "bn_scsi_queue_i", "bn_scsi_timeout",
               "bn_nvme_retry_r"]
    c.eq("runs at the default attach points under healthy I/O",
         {n: runs2.get(n) for n in default}, {n: 0 for n in default})
    c.eq("runs of the error and sense programs for one medium error (two watchers)",
         (runs3.get("block_rq_error", 0) - runs2.get("block_rq_error", 0),
          runs3.get("bn_scsi_check_s", 0) - runs2.get("bn_scsi_check_s", 0)), (2, 2))
    batched = runs.get("bn_nvme_complet", 0)
    n = runs2.get("bn_nvme_complet", 0) - batched
    t = ns2.get("bn_nvme_complet", 0) - ns.get("bn_nvme_complet", 0)
    c.true("--nvme-status with mq-deadline: a run per NVMe completion", n >= 2000, f"got {n}")
    print(f"# {k} detail_cost: nvme_complete_rq fentry ran {batched} times for 2000 reads "
          f"without a scheduler, {n} with mq-deadline, {t / max(n, 1):.0f} ns per run (QEMU TCG)")


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


def null_slow(c, s, k):
    # Both requests complete 400 ms after issue (null_blk's timer): slow at
    # 200 ms, each a slow record with its latency; not slow at 1000 ms.
    expect_io(c, s, "OK 1", "OK 1")
    recs = [r for r in s.recs.get("above", []) if r.get("type") == "slow"]
    c.eq("above: number of slow records", len(recs), 2)
    c.eq("above: watcher exit status", s.fact("above.exit"), "0")
    c.eq("above: watcher had to be killed", s.fact("above.timed_out"), None)
    c.eq("above: other records", [r for r in s.recs.get("above", []) if r.get("type") != "slow"], [])
    for i, (op, sector) in enumerate([("read", 64), ("write", 128)]):
        r = recs[i] if i < len(recs) else {}
        p = f"above record {i}"
        c.eq(f"{p} dev (st_rdev of /dev/{s.fact('disk')})", r.get("dev"), s.fact("dev"))
        c.eq(f"{p} disk", r.get("disk"), s.fact("disk"))
        c.eq(f"{p} subtype", (r.get("subtype"), r.get("subtype_nr")), ("slow", 64))
        c.eq(f"{p} op", r.get("op"), op)
        c.eq(f"{p} sector", r.get("sector"), sector)
        c.eq(f"{p} nr_sectors", r.get("nr_sectors"), 8)
        if op == "write":	# O_DIRECT writes are REQ_SYNC: the bit number came from BTF
            c.true(f"{p} flags has SYNC (8)", r.get("flags", 0) & 8, f"got {r.get('flags')}")
        c.true(f"{p} latency_ns at least completion_nsec (400 ms)",
               r.get("latency_ns", 0) >= 400_000_000, f"got {r.get('latency_ns')}")
    c.eq("below: records at a 1000 ms threshold", s.recs.get("below", []), [])
    c.eq("below: watcher exit status (stopped by SIGTERM)", s.fact("below.exit"), "0")


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


def dm_bio(c, s, k):
    # bnint: two writes, an intact read, the corrupted read; flakey down;
    # error_writes (write fails, read passes); drop_writes (the write
    # "succeeds"); linear over the bad block; thin: two fills, ENOSPC; the
    # sentinel on nullb22.
    expect_io(c, s, "OK 1", "OK 1", "OK 1", "EILSEQ 1", "EIO 1", "EIO 1", "OK 1", "OK 1",
              "EIO 1", "OK 1", "OK 1", "ENOSPC 1", "EIO 1", "OK 1000", "OK 1000", "EIO 1")
    devs = dict(v.split() for v in s.facts.get("devof", []))
    for tag in ("bio", "rq"):
        c.eq(f"{tag}: watcher exit status", s.fact(f"{tag}.exit"), "0")

    def rows(tag):
        return [(r.get("dev"), r.get("sector"), r.get("nr_sectors"), r.get("op"),
                 r.get("subtype"), r.get("error")) for r in s.errors(tag)]

    # With --bio-errors: each dm device's own failure, at its own sectors,
    # with the errno dm gave the bio; dm-linear's failure twice, the disk's
    # request (mapped sector) first, then the dm device's bio.
    c.eq("bio: records (dev, sector, nr_sectors, op, subtype, error)", rows("bio"), [
        (devs.get("bnint"), 1024, 8, "read", "protection", "EILSEQ"),
        (devs.get("bnflakey"), 0, 8, "read", "io", "EIO"),
        (devs.get("bnflakeyw"), 0, 8, "write", "io", "EIO"),
        (devs.get("nullb22"), 12800, 8, "read", "io", "EIO"),
        (devs.get("bnlinear"), 512, 8, "read", "io", "EIO"),
        (devs.get("bnthin"), 2048, 8, "write", "no_space", "ENOSPC"),
        (devs.get("nullb22"), 12800, 8, "read", "io", "EIO"),
    ])
    c.true("bio: no record of the drop_writes device",
           all(r.get("dev") != devs.get("bnflakeyd") for r in s.errors("bio")))
    # Without it: the request records only, as in dm_stack.
    c.eq("rq: records", rows("rq"), [
        (devs.get("nullb22"), 12800, 8, "read", "io", "EIO"),
        (devs.get("nullb22"), 12800, 8, "read", "io", "EIO"),
    ])
    c.eq("dm-integrity counted one mismatch", s.fact("mismatches"), "1")
    c.eq("cost: watcher exit status", s.fact("cost.exit"), "0")
    c.eq("cost: the sentinel only", rows("cost"),
         [(devs.get("nullb22"), 12800, 8, "read", "io", "EIO")])

    # Healthy I/O: 1000 reads through dm-linear, then 1000 on its disk.
    def prog(when):
        return {n: (int(r), int(t)) for n, r, t in
                (v.split() for v in s.facts.get(f"prog.{when}", []))}
    p0, p1, p2 = prog("before"), prog("dm"), prog("disk")
    bio = [p.get("block_bio_compl", (None, 0)) for p in (p0, p1, p2)]
    rq = [p.get("block_rq_error", (None, 0)) for p in (p0, p1, p2)]
    if c.true("cost: program statistics read", None not in [b[0] for b in bio + rq]):
        c.eq("cost: bio program runs for 1000 healthy dm bios", bio[1][0] - bio[0][0], 1000)
        c.eq("cost: bio program runs for 1000 healthy reads of the request-based disk",
             bio[2][0] - bio[1][0], 0)
        c.eq("cost: block_rq_error runs for the healthy I/O", rq[2][0] - rq[0][0], 0)
        print(f"    note {k}: bio program, healthy dm bio: "
              f"{(bio[1][1] - bio[0][1]) / 1000:.0f} ns per run (TCG, bpf_stats on)")


def md_bio(c, s, k):
    # write, write degraded, write after the last member "failed", read, sentinel
    expect_io(c, s, "OK 1", "OK 1", "EIO 1", "OK 1", "EIO 1")
    c.true("array started", s.fact("md_state") in ("clean", "active"), s.fact("md_state"))
    c.eq("array size (sectors)", s.fact("md_size"), "16384")
    c.eq("one member failed", s.fact("md_degraded"), "1")
    c.eq("bio: watcher exit status", s.fact("bio.exit"), "0")
    devs = dict(v.split() for v in s.facts.get("devof", []))
    # md failed the write itself: a record of the md device, and none of a member.
    for tag in ("bio", "daemon"):
        c.eq(f"{tag}: records (dev, sector, nr_sectors, op, subtype, error)",
             [(r.get("dev"), r.get("sector"), r.get("nr_sectors"), r.get("op"), r.get("subtype"),
               r.get("error")) for r in s.errors(tag)],
             [(devs.get("md_bn"), 16, 8, "write", "io", "EIO"),
              (devs.get("nullb30"), 4000, 8, "read", "io", "EIO")])
    c.eq("daemon: watcher exit status", s.fact("daemon.exit"), "0")
    c.eq("daemon (bio_errors = yes): exit status on SIGTERM", s.fact("daemon_exit"), "0")
def lifecycle(c, s, k):
    def mine(dev):
        return [r for r in s.recs.get("bpf", []) if r.get("dev") == dev]

    b = [(r.get("type"), r.get("subtype")) for r in mine(s.fact("dev_b"))]
    c.eq("disk B, added after the watch began: its records in order", b,
         [("lifecycle", "added"), ("error", "medium"), ("lifecycle", "capacity"),
          ("lifecycle", "read_only"), ("lifecycle", "read_write"), ("lifecycle", "removed")])
    cap = [r for r in mine(s.fact("dev_b")) if r.get("subtype") == "capacity"]
    if c.eq("disk B: one capacity record", len(cap), 1):
        # 16 MiB (dev_size_mb) to virtual_gb=1, in bytes; the size sysfs showed after.
        c.eq("capacity record: old, new (bytes)", (cap[0].get("old_capacity"), cap[0].get("capacity")),
             (16 << 20, 1 << 30))
        c.eq("capacity record = sysfs size after the rescan", cap[0].get("capacity"),
             int(s.fact("size_b", "0")) * 512)
    for r in mine(s.fact("dev_b")):
        if r.get("type") == "lifecycle":
            c.eq(f"{r.get('subtype')} record: class", r.get("class"), "lifecycle")
    dm = mine(s.fact("dev_dm"))
    # Created, then destroyed at the reader's last close: device-mapper marks
    # the disk dead (blk_mark_disk_dead() in __dm_destroy()), then
    # del_gendisk() removes it.  Its table load is a capacity change from 0
    # to 4 MiB when the source read the add uevent before the load (sysfs is
    # read when the uevent is): there or not, never another size.
    c.eq("dm device removed while open: its records", [r.get("subtype") for r in dm
                                                       if r.get("subtype") != "capacity"],
         ["added", "dead", "removed"])
    for r in dm:
        if r.get("subtype") == "capacity":
            c.eq("dm table load: old, new capacity (bytes)",
                 (r.get("old_capacity"), r.get("capacity")), (0, 8192 * 512))
    c.eq("bpf: watcher exit status (killed at the end)", s.fact("bpf.exit") in ("0", "143"), True)


def lifecycle_follow(c, s, k):
    recs = [(r.get("type"), r.get("subtype"), r.get("dev"), r.get("id"), r.get("sector"))
            for r in s.recs.get("bpf", []) if r.get("type") in ("lifecycle", "error")]
    gone = [r.get("disk") for r in s.recs.get("bpf", []) if r.get("subtype") == "removed"]
    c.eq("the removed disk is named as it was", gone, [s.fact("disk")])
    c.eq("watch by WWN: removed, the disk back (added), its error, all watch 9", recs,
         [("lifecycle", "removed", s.fact("dev"), 9, None),
          ("lifecycle", "added", s.fact("dev2"), 9, None),
          ("error", "medium", s.fact("dev2"), 9, 1000)])


def lifecycle_pinned(c, s, k):
    c.eq("the restarted daemon took the pinned queue over", s.fact("resumed"), "1")
    c.eq("BLKROSET after the takeover: its records",
         [(r.get("subtype"), r.get("dev")) for r in s.recs.get("bpf", [])
          if r.get("type") == "lifecycle"],
         [("read_only", s.fact("dev")), ("read_write", s.fact("dev"))])


CHECKS = {
    "scsi_medium": scsi_medium,
    "scsi_identity": scsi_identity,
    "scsi_timeout": scsi_timeout,
    "scsi_offline": scsi_offline,
    "scsi_detail": scsi_detail,
    "scsi_detail_4k": scsi_detail_4k,
    "daemon_detail": daemon_detail,
    "scsi_soft": scsi_soft,
    "scsi_storm": scsi_storm,
    "nvme_blkdebug": nvme_blkdebug,
    "vblk_blkdebug": vblk_blkdebug,
    "vscsi_blkdebug": vscsi_blkdebug,
    "detail_cost": detail_cost,
    "null_badblocks": null_badblocks,
    "null_timeout": null_timeout,
    "null_slow": null_slow,
    "scsi_dif": scsi_dif,
    "scsi_inject": scsi_inject,
    "scsi_zbc": scsi_zbc,
    "null_zone_open": null_zone_open,
    "null_zone_active": null_zone_active,
    "bpf_complete": bpf_complete,
    "filters": filters,
    "dm_stack": dm_stack,
    "dm_bio": dm_bio,
    "md_bio": md_bio,
    "kmsg_burst": kmsg_burst,
    "storm": storm,
    "daemon": daemon,
    "lifecycle": lifecycle,
    "lifecycle_follow": lifecycle_follow,
    "lifecycle_pinned": lifecycle_pinned,
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
