"""The measuring half of benches/app_sources.sh (which builds, makes the camera file and calls
this): for each source count N, `rsvision run` with N looping live sources sharing one
model, then the same N streams as N separate `gst-launch-1.0` processes (one model copy
each), sampling CPU and memory of the process(es) every second. Prints one table.

usage: app_sources.py --app BIN --plugin-dir DIR --model ONNX --cam MP4 --seconds S
                       --counts "1 2 4 8" --work DIR [--cores N] [--skip-app]

How each figure is measured (the same way for both sides):
- frames/s: frames that reached the final fakesink, per source, over a steady window that
  leaves out start-up (model loading, preroll) and the drain at the end, summed over sources.
  App: the cumulative `frames=` of its periodic `perf ID ...` lines, from the first round at
  least WARM_UP s after launch to the last round before its `shutdown:` line
  (stats-interval 5 s; 1 s when a run is under 15 s, to have two rounds). Separate
  processes: fakesink silent=false under `gst-launch-1.0 -v` prints one `last-message =
  chain` line per rendered buffer; the lines are counted by arrival time from WARM_UP s
  after launch to the SIGINT that ends the run.
- live%: frames/s / (N x 10 fps), i.e. the share of the camera frames shown in real time.
- CPU cores: utime+stime of the process(es) (/proc/PID/stat), difference between the first
  and last 1 s samples inside the window, divided by the wall time between them.
- RSS MB: VmRSS (/proc/PID/status), summed over the processes at each sample; mean over the
  window (peak over the whole run in the details). Summed RSS counts the shared libraries once
  per process; PSS (/proc/PID/smaps_rollup, shared pages split between processes) is the
  fair sum and is in the details.
- inferred%: rsinfer's own count at stop (GST_DEBUG=rsinfer:4 "Stopped after F frames: I
  inferred, L passed late"), I / ceil(F / 3) over the whole run: with inference-interval=3
  every third frame is due; a due frame that arrives late passes without inference (QoS), so
  frames can stay live while inference falls behind. This shows when it does.
- dropped: frames the leaky queue threw away over the whole run (app: its `summary`; separate
  processes: frames in the stream up to the last rendered timestamp minus frames rendered).
"""

import argparse
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time

FPS = 10
INTERVAL = 3
WARM_UP = 5.0  # s after launch when the steady window starts (both sides)
SAMPLE = 1.0  # s between /proc samples
CLK_TCK = os.sysconf("SC_CLK_TCK")
LIVE = 0.95  # the live share a count must reach to count as "kept live"

STOPPED = re.compile(r"Stopped after (\d+) frames: (\d+) inferred, (\d+) passed late")
CHAIN_PTS = re.compile(r"last-message = chain .*? pts: (\d+):(\d+):(\d+\.\d+)")
PERF = re.compile(r"^\S+ perf (\S+) state=(\S+) .*?\bframes=(\d+) dropped=(\d+)")
SUMMARY = re.compile(r"^\S+ summary (\S+) frames=(\d+) dropped=(\d+) reconnects=(\d+)")
SESSIONS = re.compile(r"model \S+: (\d+) sources share (\d+) loaded session")

children = []  # every Popen started, killed on the way out


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def kill_all():
    """Everything still running: SIGTERM (rsvision drains, gst-launch dies), then SIGKILL."""
    alive = [p for p in children if p.poll() is None]
    for p in alive:
        try:
            p.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 3
    for p in alive:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def spawn(argv, env, stderr_path):
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=open(stderr_path, "wb"), text=True, errors="replace")
    children.append(p)
    return p


class Reader(threading.Thread):
    """Reads a child's stdout, stamping each line with its arrival time."""

    def __init__(self, proc, keep):
        super().__init__(daemon=True)
        self.proc, self.keep = proc, keep
        self.chain_times = []  # arrival of each rendered buffer (gst-launch -v)
        self.last_pts = None  # s
        self.lines = []  # (t, line) of the other lines kept
        self.start()

    def run(self):
        for line in self.proc.stdout:
            t = time.monotonic()
            m = CHAIN_PTS.search(line)
            if m:
                self.chain_times.append(t)
                h, mi, s = m.groups()
                self.last_pts = int(h) * 3600 + int(mi) * 60 + float(s)
            elif self.keep:
                self.lines.append((t, line.rstrip("\n")))


def proc_sample(pids):
    """(cpu ticks, RSS kB, PSS kB) summed over the pids still alive, and how many were."""
    ticks = rss = pss = alive = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
            with open(f"/proc/{pid}/smaps_rollup") as f:
                rollup = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] == "Z":
            continue
        ticks += int(fields[11]) + int(fields[12])
        rss += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        m = re.search(r"^Pss:\s+(\d+)", rollup, re.M)
        pss += int(m.group(1)) if m else 0
        alive += 1
    return ticks, rss, pss, alive


class Sampler(threading.Thread):
    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.samples, self.stop = pids, [], threading.Event()
        self.start()

    def run(self):
        while not self.stop.is_set():
            t = time.monotonic()
            ticks, rss, pss, alive = proc_sample(self.pids)
            if alive == len(self.pids):
                self.samples.append((t, ticks, rss, pss))
            self.stop.wait(SAMPLE)

    def window(self, t0, t1):
        """CPU cores, mean RSS MB, mean PSS MB over the samples in [t0, t1]; peak RSS MB."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        peak = max((s[2] for s in self.samples), default=0) / 1024
        if len(inside) < 2:
            return float("nan"), float("nan"), float("nan"), peak
        (ta, ca, _, _), (tb, cb, _, _) = inside[0], inside[-1]
        cores = (cb - ca) / CLK_TCK / (tb - ta)
        rss = sum(s[2] for s in inside) / len(inside) / 1024
        pss = sum(s[3] for s in inside) / len(inside) / 1024
        return cores, rss, pss, peak


def rsinfer_counts(paths):
    """(frames, inferred, late, due) summed over the rsinfer stop lines of the logs."""
    frames = inferred = late = due = 0
    for path in paths:
        with open(path, errors="replace") as f:
            for m in STOPPED.finditer(f.read()):
                fr, inf, lt = map(int, m.groups())
                frames, inferred, late = frames + fr, inferred + inf, late + lt
                due += math.ceil(fr / INTERVAL)
    return frames, inferred, late, due


def gst_env():
    env = dict(os.environ)
    env.update(GST_DEBUG="rsinfer:4", GST_DEBUG_NO_COLOR="1")
    return env


def stats_interval(args):
    """The app's perf lines are its frame counter: every 5 s (a deployment's setting), every
    1 s in runs too short for two rounds after the warm-up."""
    return 5 if args.seconds >= WARM_UP + 10 else 1


def write_config(args, n, path):
    lines = [
        "# benches/app_sources.sh: N looping live cameras, one shared model, tracker on.",
        "[app]", f'stats-interval = "{stats_interval(args)}s"', "",
        "[models.shapes]", f'location = "{args.model}"', "conf-threshold = 0.25",
        f"inference-interval = {INTERVAL}", "", "[tracker]", "",
    ]
    for i in range(1, n + 1):
        lines += ["[[sources]]", f'id = "cam-{i}"', f'uri = "file://{args.cam}"',
                  'mode = "live"', 'model = "shapes"', ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def run_app(args, n):
    config = os.path.join(args.work, f"app-{n}.toml")
    write_config(args, n, config)
    log = os.path.join(args.work, f"app-{n}.stderr")
    t0 = time.monotonic()
    p = spawn([args.app, "run", config, "--duration", f"{args.seconds}s"], gst_env(), log)
    reader = Reader(p, keep=True)
    sampler = Sampler([p.pid])
    # It stops by itself at the duration, draining for at most its shutdown-timeout (10 s).
    status = stop_app(p, args.seconds + 20, n)
    sampler.stop.set()
    reader.join(5)
    with open(os.path.join(args.work, f"app-{n}.stdout"), "w") as f:
        f.writelines(line + "\n" for _, line in reader.lines)

    perf, summary, sessions, shutdown_t = {}, {}, None, None
    for t, line in reader.lines:
        if (m := PERF.match(line)):
            perf.setdefault(m.group(1), []).append((t, int(m.group(3)), int(m.group(4))))
        elif (m := SUMMARY.match(line)):
            summary[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
        elif (m := SESSIONS.search(line)):
            sessions = int(m.group(2))
        elif " shutdown: " in line and shutdown_t is None:
            shutdown_t = t
    if not perf:
        tail = "\n".join(line for _, line in reader.lines[-15:])
        raise SystemExit(f"app N={n}: no perf line (exit {status}); its output ends with:\n"
                         f"{tail}\n(stderr: {log})")
    if len(summary) != n:
        # Killed before its summary: the whole-run figures are those of the last perf round.
        print(f"\n  app N={n}: {len(summary)} summary lines for {n} sources (exit {status}); "
              f"whole-run figures from the last perf lines", file=sys.stderr)
        summary = {sid: (rounds[-1][1], rounds[-1][2], 0) for sid, rounds in perf.items()}
    # The steady window: the perf rounds from WARM_UP s after launch to the last one before
    # the shutdown (frames still flow while the sources drain; those are left out).
    fps, w0, w1 = 0.0, [], []
    for sid in summary:
        rounds = [(t, f) for t, f, _ in perf.get(sid, [])
                  if t >= t0 + WARM_UP - 0.5 and (shutdown_t is None or t <= shutdown_t)]
        if len(rounds) < 2:
            raise SystemExit(f"app N={n}: {len(rounds)} perf lines for {sid} between "
                             f"{WARM_UP:.0f} s and the shutdown; 2 are needed (run longer)")
        (ta, fa), (tb, fb) = rounds[0], rounds[-1]
        fps += (fb - fa) / (tb - ta)
        w0.append(ta)
        w1.append(tb)
    cores, rss, pss, peak = sampler.window(min(w0), max(w1))
    _, inferred, late, due = rsinfer_counts([log])
    return dict(
        fps=fps, live=fps / (n * FPS), cores=cores, rss=rss, pss=pss, peak=peak,
        window=max(w1) - min(w0),
        frames=sum(v[0] for v in summary.values()), dropped=sum(v[1] for v in summary.values()),
        reconnects=sum(v[2] for v in summary.values()), inferred=inferred, due=due, late=late,
        sessions=sessions, status=status,
    )


def stop_app(p, timeout, n):
    """Waits `timeout` s for the program to end, then SIGINT (it drains), a second SIGINT
    (it exits at once) and SIGKILL. Its exit status, or how it was stopped."""
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    print(f"\n  app N={n}: still running {timeout} s after start: SIGINT", file=sys.stderr)
    for sig, wait in ((signal.SIGINT, 3), (signal.SIGINT, 5)):
        p.send_signal(sig)
        try:
            return f"{p.wait(wait)} after SIGINT"
        except subprocess.TimeoutExpired:
            pass
    p.kill()
    p.wait()
    return "SIGKILL"


def baseline_argv(args):
    return [
        "gst-launch-1.0", "-e", "-v",
        "filesrc", f"location={args.cam}", "!", "decodebin", "!", "videoconvert", "!",
        "clocksync", "!",
        "queue", "leaky=downstream", "max-size-buffers=2", "max-size-bytes=0", "max-size-time=0", "!",
        "rsinfer", f"model-location={args.model}", "conf-threshold=0.25",
        f"inference-interval={INTERVAL}", "!",
        "rstracker", "!",
        "fakesink", "sync=true", "qos=true", "silent=false",
    ]


def run_separate(args, n):
    env = gst_env()
    env["GST_PLUGIN_PATH"] = args.plugin_dir
    logs = [os.path.join(args.work, f"separate-{n}-{i}.stderr") for i in range(1, n + 1)]
    t0 = time.monotonic()
    procs = [spawn(baseline_argv(args), env, log) for log in logs]
    readers = [Reader(p, keep=True) for p in procs]
    sampler = Sampler([p.pid for p in procs])
    end = t0 + args.seconds
    while time.monotonic() < end and all(p.poll() is None for p in procs):
        time.sleep(0.1)
    t_stop = time.monotonic()
    # One last sample at the end of the window, then the stop (EOS; -e waits for it).
    ticks, rss, pss, alive = proc_sample(sampler.pids)
    if alive == n:
        sampler.samples.append((t_stop, ticks, rss, pss))
    sampler.stop.set()
    early = [i + 1 for i, p in enumerate(procs) if p.poll() is not None]
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for r in readers:
        r.join(5)
    if early:
        raise SystemExit(f"separate N={n}: process(es) {early} ended before the run did "
                         f"(see {logs[early[0] - 1]})")
    w0 = t0 + WARM_UP
    fps = sum(sum(1 for t in r.chain_times if w0 <= t <= t_stop) for r in readers) / (t_stop - w0)
    cores, rss, pss, peak = sampler.window(w0, t_stop)
    frames = sum(len(r.chain_times) for r in readers)
    # Frames of the 10 fps stream up to the last one rendered, minus those rendered.
    dropped = sum(round(r.last_pts * FPS) + 1 - len(r.chain_times)
                  for r in readers if r.last_pts is not None)
    _, inferred, late, due = rsinfer_counts(logs)
    return dict(
        fps=fps, live=fps / (n * FPS), cores=cores, rss=rss, pss=pss, peak=peak,
        window=t_stop - w0, frames=frames, dropped=dropped, reconnects=0,
        inferred=inferred, due=due, late=late, sessions=n,
        status=max((p.returncode for p in procs), key=abs),
    )


def num(x, spec):
    """`x` formatted with `spec`, or `-` when it was not measured (NaN)."""
    return format(x, spec) if x == x else "-"


def pct(x):
    return num(100 * x, ".1f")


def ratio(a, b):
    return f"{a / b:.2f}" if b and a == a and b == b else "-"


def sources_per_core(results, side, cores):
    live = [n for n, r in results.items() if r[side]["live"] >= LIVE]
    if not live:
        return f"none of {list(results)} kept >= {100 * LIVE:.0f}% live"
    best = max(live)
    more = "" if best < max(results) else f" (every count tried was live: at least this)"
    return f"{best} sources live / {cores} cores = {best / cores:.1f} sources per core{more}"


def main():
    ap = argparse.ArgumentParser()
    for a in ("--app", "--plugin-dir", "--model", "--cam", "--counts", "--work"):
        ap.add_argument(a, required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--cores", type=int, default=os.cpu_count())
    ap.add_argument("--skip-app", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    counts = [int(c) for c in args.counts.split()]
    if args.seconds < WARM_UP + 3:
        raise SystemExit(f"SECONDS_PER_RUN must be at least {WARM_UP + 3:.0f} (start-up is left out)")

    print(f"run: {args.seconds} s per run, counts {counts}, app stats-interval "
          f"{stats_interval(args)} s; 640x480 {FPS} fps H.264 file "
          f"{args.cam}\nlogs and configs: {args.work}\n"
          f"separate processes run: {' '.join(baseline_argv(args))}")
    results = {}
    try:
        for n in counts:
            r = {}
            print(f"N={n}: app ...", end="", flush=True)
            load0 = open("/proc/loadavg").read().split()[0]
            if not args.skip_app:
                r["app"] = run_app(args, n)
            time.sleep(2)
            print(" separate processes ...", end="", flush=True)
            r["sep"] = run_separate(args, n)
            time.sleep(2)
            print(f" done (load average before: {load0})")
            results[n] = r
    finally:
        kill_all()

    nan = dict(fps=float("nan"), live=float("nan"), cores=float("nan"), rss=float("nan"),
               pss=float("nan"), peak=float("nan"), window=0, frames=0, dropped=0,
               reconnects=0, inferred=0, due=0, late=0, sessions=None, status=None)
    for r in results.values():
        r.setdefault("app", nan)

    print()
    print(f"machine: {args.cores} cores ({os.cpu_count()} online), {cpu_model()}; "
          f"load average now {open('/proc/loadavg').read().split()[0]}")
    print(f"steady window: from {WARM_UP:.0f} s after start to the end of the run (app: its "
          f"perf rounds in that span); live% = frames out / (N x {FPS} fps)\n")
    head = (f"{'N':>3} | {'app: fps':>8} {'live%':>6} {'CPU':>5} {'RSS MB':>7} | "
            f"{'separate: fps':>13} {'live%':>6} {'CPU':>5} {'RSS MB':>7} | "
            f"{'app/separate: fps':>17} {'CPU':>5} {'RSS':>5}")
    print(head)
    print("-" * len(head))
    for n, r in results.items():
        a, s = r["app"], r["sep"]
        print(f"{n:>3} | {num(a['fps'], '.1f'):>8} {pct(a['live']):>6} {num(a['cores'], '.2f'):>5} "
              f"{num(a['rss'], '.0f'):>7} | {num(s['fps'], '.1f'):>13} {pct(s['live']):>6} "
              f"{num(s['cores'], '.2f'):>5} {num(s['rss'], '.0f'):>7} | "
              f"{ratio(a['fps'], s['fps']):>17} {ratio(a['cores'], s['cores']):>5} "
              f"{ratio(a['rss'], s['rss']):>5}")
    print("\nCPU in cores used (cpu-seconds / wall-seconds); RSS: mean of the summed VmRSS.")
    print("\ndetails (whole run unless said):")
    dh = (f"{'N':>3} {'side':<8} {'window s':>8} {'frames':>7} {'dropped':>7} {'inferred%':>9} "
          f"{'late':>5} {'PSS MB':>7} {'peak RSS':>8} {'CPU ms/frame':>12} {'models':>6} {'exit':>4}")
    print(dh)
    for n, r in results.items():
        for side, name in (("app", "app"), ("sep", "separate")):
            x = r[side]
            per_frame = 1000 * x["cores"] / x["fps"] if x["fps"] else float("nan")
            inf = x["inferred"] / x["due"] if x["due"] else float("nan")
            print(f"{n:>3} {name:<8} {x['window']:8.1f} {x['frames']:7d} {x['dropped']:7d} "
                  f"{pct(inf):>9} {x['late']:5d} {num(x['pss'], '.0f'):>7} {num(x['peak'], '.0f'):>8} "
                  f"{num(per_frame, '.1f'):>12} {str(x['sessions'] or '-'):>6} "
                  f"{str(x['status'] if x['status'] is not None else '-'):>4}")
    print("  inferred% = frames inferred / frames due (every 3rd); late = due frames passed "
          "without inference to stay live.\n  PSS: mean summed proportional set size (shared "
          "pages split between processes); models: loaded model sessions.")
    for n, r in results.items():
        if r["app"]["reconnects"]:
            print(f"  app N={n}: {r['app']['reconnects']} reconnects during the run")
    print()
    if not args.skip_app:
        print(f"sources per core, app:                {sources_per_core(results, 'app', args.cores)}")
    print(f"sources per core, separate processes: {sources_per_core(results, 'sep', args.cores)}")
    print(f"  (largest N whose live share is >= {100 * LIVE:.0f}%, over {args.cores} cores)")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
        return m.group(1) if m else "unknown CPU"
    except OSError:
        return "unknown CPU"


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as e:
        kill_all()
        sys.exit(f"interrupted ({e})")
