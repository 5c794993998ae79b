# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench/run figure "slow": the cost of slow-I/O detection on healthy I/O.

fio 4 KiB random reads on a plain loop device while blkwatch watches it
through the bpf source: without slow detection (the default, the error
program only, which never runs on healthy I/O), with an absolute threshold
(the issue/complete pair runs on every request), and with an absolute and a
relative one (the pair plus the per-disk median).  A run with no monitor at
all is the baseline.  Configurations rotate each round; the ratios of each
round are kept.  Then one run per configuration with kernel.bpf_stats_enabled
counts the programs' runs and time: ns per I/O that does not depend on the
machine's noise.

The helpers (the loop device, fio, bpftool, med, spread) are bench/run's,
passed in, so that this file holds only the figure.
"""

import os
import re
import signal
import subprocess
import time

# name -> blkwatch arguments (None: no monitor)
CONFIGS = {
    "none": None,
    "off": (),
    "abs": ("--slow", "500"),
    "rel": ("--slow", "500", "--slow-relative", "50"),
}
NAMES = {
    "none": "no monitor",
    "off": "blkwatch, slow detection off (default)",
    "abs": "blkwatch --slow 500",
    "rel": "blkwatch --slow 500 --slow-relative 50",
}


class Watch:
    """blkwatch on one device, until it says it is watching."""

    def __init__(self, blkwatch, dev, args, workdir):
        self.err = os.path.join(workdir, "slow-blkwatch.err")
        self.p = subprocess.Popen([blkwatch, "--source", "bpf", "--device", dev, *args],
                                  stdout=subprocess.DEVNULL, stderr=open(self.err, "w"))
        for _ in range(300):
            with open(self.err) as f:
                text = f.read()
            if "watching" in text:
                return
            if self.p.poll() is not None:
                raise RuntimeError(f"blkwatch {' '.join(args)} failed: {text.strip()}")
            time.sleep(0.05)
        raise RuntimeError("blkwatch did not start watching within 15 s")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=30)


# The reference measured in the same run: the error program at its fallback
# attach point, one run per completion (figure 3's "fallback").
REFERENCE = ("--bpf-complete",)


def slow_progs(bpftool, reference=False):
    """The slow-I/O programs loaded now (slow_issue_*, slow_complete_*), or the reference's."""
    return {p["id"]: p for p in bpftool("prog", "show") or []
            if (p.get("name") == "block_rq_complete" if reference
                else p.get("name", "").startswith("slow_"))}


def fig_slow(t, make_loop, fio, bpftool, rounds, seconds, engines, workdir):
    loop = make_loop(256)
    res = {}
    try:
        for engine in engines:
            fio(loop.dev, 1, engine)	# warm up
            runs = {cfg: [] for cfg in CONFIGS}
            order = list(CONFIGS)
            for i in range(rounds):
                for cfg in order[i % len(order):] + order[:i % len(order)]:
                    w = Watch(t.blkwatch, loop.dev, CONFIGS[cfg], workdir) \
                        if CONFIGS[cfg] is not None else None
                    runs[cfg].append(fio(loop.dev, seconds, engine))
                    if w:
                        w.stop()
            res[engine] = runs
        with open("/proc/sys/kernel/bpf_stats_enabled") as f:
            old = f.read().strip()
        stats = {}
        try:
            with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
                f.write("1")
            for cfg in ("complete", "off", "abs", "rel"):
                ref = cfg == "complete"
                before = slow_progs(bpftool, ref)
                w = Watch(t.blkwatch, loop.dev, REFERENCE if ref else CONFIGS[cfg], workdir)
                mine = [i for i in slow_progs(bpftool, ref) if i not in before]
                r = fio(loop.dev, seconds, engines[0])
                progs = [bpftool("prog", "show", "id", str(i)) or {} for i in mine]
                w.stop()
                r["programs"] = len(mine)
                r["run_cnt"] = sum(p.get("run_cnt", 0) for p in progs)
                r["run_time_ns"] = sum(p.get("run_time_ns", 0) for p in progs)
                r["recursion_misses"] = sum(p.get("recursion_misses", 0) for p in progs)
                stats[cfg] = r
        finally:
            with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
                f.write(old)
        res["bpf_stats"] = stats
    finally:
        loop.close()
    return res


def report_slow(R, res, seconds, med, spread):
    R.out(f"## 9. Cost of slow-I/O detection on healthy I/O (fio randread 4 KiB, O_DIRECT, "
          f"numjobs=1, plain loop device over a tmpfs file, {seconds} s runs, configurations "
          "in rotating order)")
    R.out()
    rows = []
    for engine, runs in res.items():
        if engine == "bpf_stats":
            continue
        base = [r["iops"] for r in runs["none"]]
        basec = [r["cpu_us_per_io"] for r in runs["none"]]
        off = [r["iops"] for r in runs["off"]]
        for cfg in CONFIGS:
            v = [r["iops"] for r in runs[cfg]]
            c = [r["cpu_us_per_io"] for r in runs[cfg]]
            ratios = [a / b for a, b in zip(v, base)]
            roff = [a / b for a, b in zip(v, off)]
            cdiff = [(a - b) * 1000 for a, b in zip(c, basec)]
            rows.append([engine, NAMES[cfg], f"{med(v):,.0f}", spread(v, "{:,.0f}"),
                         "1" if cfg == "none" else f"{med(ratios):.3f}",
                         "" if cfg == "none" else spread(ratios, "{:.3f}"),
                         "–" if cfg in ("none", "off") else f"{med(roff):.3f}",
                         f"{med(c):.2f}",
                         "–" if cfg == "none" else f"{med(cdiff):+.0f}"])
    R.table(["engine", "configuration", "IOPS (median)", "IOPS spread",
             "IOPS ratio to no monitor (median of rounds)", "ratio spread",
             "IOPS ratio to slow off", "fio CPU µs / I/O", "fio CPU ns / I/O vs no monitor"],
            rows)
    st = res.get("bpf_stats", {})
    if st:
        R.out("The programs' own time during one healthy fio run each, with "
              "kernel.bpf_stats_enabled=1 (the noise-free part of the cost; both programs "
              "of the pair together, per completed read):")
        R.out()
        rows = []
        ref = st.get("complete", {})
        ref_ns = ref.get("run_time_ns", 0) / max(ref.get("ios", 1), 1)
        for cfg in ("complete", "off", "abs", "rel"):
            r = st[cfg]
            ios = max(r["ios"], 1)
            ns = r["run_time_ns"] / ios
            rows.append(["reference: blkwatch --bpf-complete (one program run per completion)"
                         if cfg == "complete" else NAMES[cfg],
                         str(r["programs"]), f"{r['ios']:,}", f"{r['run_cnt']:,}",
                         f"{ns:.0f}" if r["run_cnt"] else "0",
                         f"{ns / ref_ns:.1f}" if ref_ns and cfg != "complete" else "–",
                         f"{100 * r['run_time_ns'] / (seconds * 1e9):.2f} %",
                         f"{r['recursion_misses']:,}"])
        R.table(["configuration", "programs loaded", "reads completed", "program runs",
                 "ns per I/O in the programs", "ratio to the reference",
                 "share of one CPU", "recursion misses (lost)"], rows)
        R.out("Off, no slow-I/O program is loaded at all (0 runs): the cost is zero. On, "
              "each request runs the pair once at issue and once at completion, on every "
              "watched disk.")
        R.out()
