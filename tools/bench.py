"""`make bench`: how fast is the assistant, and how much does it hold?

Starts the trained assistant and its action server on free ports and drives
the REST channel with a fixed mix of member conversations taken from the
project's own test data (single questions, plan-context turns, follow-ups),
each with its own sender id. Reports latency percentiles sequentially and at
several concurrencies, throughput, NLU-only latency (/model/parse), cold start,
training time from scratch and peak memory of both servers, and the cost of
one long conversation (`--long-turns`, default 300 turns in one conversation:
median latency per block of 25 turns, which must stay flat); writes JSON, a
Markdown table and a PNG chart.

In each round Rasa's starter bot (`rasa init`, tools/reference_bot.py) takes
the same messages at the same concurrencies right after the assistant; the
report gives the assistant's figures as ratios to it. Last, the per-stage
profile of a member turn (tools/profile_turn.py).

This is a benchmark, not a test: nothing here asserts a time. `make test`
runs it once on a tiny load (`--smoke`) only to keep it working.
"""

import argparse
import asyncio
import json
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import aiohttp
import yaml

from launch.cluster import HOST_MODES, Cluster, cluster_stores, missing_services, netns_missing
from launch.paths import MODEL_PATH, PROJECT_DIR
from launch.servers import (
    Assistant,
    ServerProcess,
    embedded_stores,
    free_port,
    quiet_env,
)
from tools import cpu_use, threshold_curve
from tools.reference_bot import ReferenceBot, create_and_train, new_init_dir

RESULTS_DIR = PROJECT_DIR / "bench-results"
REQUEST_TIMEOUT_S = 30
WARM_UP_MESSAGES = 30
LONG_CONVERSATION_BLOCK = 25
# One member's long conversation: plan context once, then questions, round and round.
LONG_CONVERSATION_TEXTS = [
    "do i need a referral for massage therapy?",
    "is massage at a spa covered?",
    "does massage need prior authorization?",
    "is out of network massage covered?",
    "what billing codes are used for massage?",
    "thanks",
]


# The same questions in English and Spanish (issue 15: Spanish p50 within 10%
# of English), sent alternately, each from a new member.
LANGUAGE_PAIRS = [
    ("is massage covered by my plan?", "mi plan cubre los masajes?"),
    (
        "do i need a referral for massage in physical therapy?",
        "necesito referido para masaje en terapia fisica?",
    ),
    ("is a spa massage covered?", "cubren un masaje en el spa?"),
    ("does massage need prior authorization?", "el masaje necesita autorizacion previa?"),
    ("is out of network massage covered?", "cubren el masaje fuera de la red?"),
]
LANGUAGE_ROUNDS = 8


@dataclass
class LoadResult:
    """Latencies of one load level."""

    concurrency: int
    messages: int
    errors: int
    seconds: float
    latencies_ms: List[float] = field(repr=False)

    @property
    def throughput(self) -> float:
        """Answered messages per second."""
        return (self.messages - self.errors) / self.seconds if self.seconds else 0.0

    def summary(self) -> Dict[str, Any]:
        """Percentiles and throughput, rounded for reports."""
        return {
            "concurrency": self.concurrency,
            "messages": self.messages,
            "errors": self.errors,
            "throughput_msg_s": round(self.throughput, 1),
            **{f"p{p}_ms": round(percentile(self.latencies_ms, p), 1) for p in (50, 95, 99)},
        }


async def long_conversation(url: str, turns: int) -> List[float]:
    """Latencies (ms) of the turns of one conversation of `turns` member messages."""
    sender = f"bench-long-{uuid.uuid4().hex[:12]}z"
    latencies: List[float] = []
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for turn in range(turns):
            text = (
                "I have a Texas HMO"
                if turn == 0
                else LONG_CONVERSATION_TEXTS[turn % len(LONG_CONVERSATION_TEXTS)]
            )
            started = time.perf_counter()
            async with session.post(url, json={"sender": sender, "message": text}) as response:
                await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def language_latencies(url: str, rounds: int = LANGUAGE_ROUNDS) -> Dict[str, List[float]]:
    """Latencies (ms) of the same questions in English and in Spanish, sent alternately,
    each as a new member's first message: {"en": [...], "es": [...]}."""
    latencies: Dict[str, List[float]] = {"en": [], "es": []}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(rounds):
            for pair in LANGUAGE_PAIRS:
                for language, text in zip(("en", "es"), pair, strict=True):
                    sender = f"bench-{language}-{uuid.uuid4().hex[:12]}z"
                    started = time.perf_counter()
                    async with session.post(url, json={"sender": sender, "message": text}) as response:
                        await response.read()
                    latencies[language].append((time.perf_counter() - started) * 1000)
    return latencies


def block_medians(latencies_ms: Sequence[float], block: int = LONG_CONVERSATION_BLOCK) -> List[float]:
    """The median latency of each block of `block` turns, in order."""
    return [
        round(statistics.median(latencies_ms[start : start + block]), 1)
        for start in range(0, len(latencies_ms), block)
        if latencies_ms[start : start + block]
    ]


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


def conversations() -> List[List[str]]:
    """The fixed message mix: test-story conversations plus held-out single questions."""
    stories = yaml.safe_load((PROJECT_DIR / "tests" / "test_stories.yml").read_text())["stories"]
    mix = [[step["user"].strip() for step in story["steps"] if "user" in step] for story in stories]
    held_out = yaml.safe_load((PROJECT_DIR / "tests" / "nlu_test.yml").read_text())["nlu"]
    for block in held_out:
        if block["intent"].startswith("ask_"):
            first = [line[2:].strip() for line in block["examples"].splitlines() if line.strip()][:2]
            mix.extend([question] for question in first)
    return mix


async def run_conversation(
    session: aiohttp.ClientSession, url: str, messages: List[str], result: LoadResult, need_reply: bool = True
) -> None:
    """Send one conversation's messages in order under a fresh sender id.

    A message counts as an error unless answered with HTTP 200 and a list of
    bot messages, which must not be empty when `need_reply` (the assistant
    always replies; the starter bot of `rasa init` may not).
    """
    sender = f"bench-{uuid.uuid4().hex}"
    for message in messages:
        started = time.perf_counter()
        try:
            async with session.post(url, json={"sender": sender, "message": message}) as response:
                body = await response.json()
                ok = response.status == 200 and isinstance(body, list) and (len(body) > 0 or not need_reply)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            ok = False
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        result.messages += 1
        result.errors += 0 if ok else 1


async def drive(
    url: str, mix: List[List[str]], concurrency: int, total_messages: int, need_reply: bool = True
) -> LoadResult:
    """Run conversations from the mix with `concurrency` in flight until enough messages went."""
    result = LoadResult(concurrency, 0, 0, 0.0, [])
    queue: "asyncio.Queue[List[str]]" = asyncio.Queue()
    count = 0
    index = 0
    while count < total_messages:
        conversation = mix[index % len(mix)]
        queue.put_nowait(conversation)
        count += len(conversation)
        index += 1
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                await run_conversation(session, url, queue.get_nowait(), result, need_reply)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


async def nlu_latencies(base_url: str, token: str, texts: List[str]) -> List[float]:
    """Latency of /model/parse (NLU only) for each text, sequentially."""
    latencies = []
    async with aiohttp.ClientSession() as session:
        for text in texts:
            started = time.perf_counter()
            async with session.post(
                f"{base_url}/model/parse", params={"token": token}, json={"text": text}
            ) as response:
                await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def peak_rss_mb(pid: Optional[int]) -> Optional[float]:
    """Peak resident memory (VmHWM) of a process and its children, in MB."""
    if pid is None:
        return None
    total_kb = 0
    pids = [pid] + _children(pid)
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


def _children(pid: int) -> List[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        return []
    found = [int(p) for p in out.split()]
    return found + [grand for child in found for grand in _children(child)]


def training_seconds() -> float:
    """Train the model from scratch into a temporary folder; return the seconds."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "launch.train", "--quiet", "--out", out],
            cwd=PROJECT_DIR,
            env=quiet_env(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - started


def stage_profile_table(turns: int, log_path: Path) -> str:
    """tools/profile_turn.py's per-stage table for `turns` member turns.

    In a process of its own: the profile loads the model and applies the
    server's fixes to Rasa in the process it runs in.
    """
    with log_path.open("wb") as log:
        done = subprocess.run(
            [sys.executable, "-m", "tools.profile_turn", "--turns", str(turns), "--stages-only"],
            cwd=PROJECT_DIR,
            env=quiet_env(),
            check=True,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    table = done.stdout.decode("utf-8")
    # Rasa prints "Loading model ..." to stdout before the table.
    return table[table.find("Per-stage") :] if "Per-stage" in table else table


def progress(text: str) -> None:
    """One progress line, overwritten in place."""
    print(f"\r\033[K{text}", end="", flush=True)


def deployment(target: str, rasa_servers: int, log: Any, token: str, hosts: str = "loopback") -> Any:
    """The servers to measure: one assistant, or a cluster of `rasa_servers` behind nginx,
    on this host's loopback or on network-namespace hosts (`hosts`, launch/cluster.py)."""
    api = ["--enable-api", f"--auth-token={token}"]  # one argument: a token may start with "-"
    if target == "single":
        # A tracker store of its own: the benchmark's conversations stay out of var/.
        tracker_db = Path(tempfile.mkdtemp(prefix="hcsc-bench-")) / "tracker.db"
        return Assistant(
            rasa_port=free_port(),
            action_port=free_port(),
            output=log,
            extra_rasa_args=api,
            stores=embedded_stores(tracker_db),
        )
    return Cluster(
        rasa_servers=rasa_servers, action_servers=rasa_servers, output=log, extra_rasa_args=api, hosts=hosts
    )


def _processes(servers: Any, kind: str) -> List[ServerProcess]:
    many = getattr(servers, f"{kind}_servers", None)
    return many if isinstance(many, list) else [getattr(servers, f"{kind}_server")]


def run_once(
    args: argparse.Namespace, mix: List[List[str]], log: Any, rasa_servers: int = 1
) -> Dict[str, Any]:
    """Start the servers, measure cold start, load levels, NLU and memory; stop them."""
    token = secrets.token_urlsafe(16)
    servers = deployment(args.target, rasa_servers, log, token, args.hosts)
    started = time.perf_counter()
    servers.start()
    try:
        asyncio.run(drive(servers.rest_url, [["hello"]], 1, 1))
        cold_start_s = time.perf_counter() - started
        # Steady state is measured after a short warm-up: TensorFlow traces the
        # classifier once per new input shape, which the cold start above covers.
        progress("  warming up...")
        asyncio.run(drive(servers.rest_url, mix, 1, WARM_UP_MESSAGES))
        levels = []
        cpu_by_level = []
        for concurrency in args.concurrency:
            progress(
                f"  {rasa_servers} Rasa server(s): concurrency {concurrency}, {args.messages} messages..."
            )
            before = cpu_use.snapshot()
            levels.append(asyncio.run(drive(servers.rest_url, mix, concurrency, args.messages)))
            cpu_by_level.append(
                cpu_use.cpu_ms_per_message(before, cpu_use.snapshot(), max(levels[-1].messages, 1))
            )
        progress(f"  one conversation of {args.long_turns} turns...")
        long_turns = asyncio.run(long_conversation(servers.rest_url, args.long_turns))
        progress("  the same questions in English and Spanish...")
        by_language = asyncio.run(language_latencies(servers.rest_url))
        progress("  NLU only: /model/parse...")
        texts = [message for conversation in mix for message in conversation][: args.messages]
        nlu = asyncio.run(nlu_latencies(servers.base_url, token, texts))
        memory = {
            f"{kind}_server_peak_rss_mb": max(
                (peak_rss_mb(p.process.pid) or 0.0) for p in _processes(servers, kind) if p.process
            )
            for kind in ("rasa", "action")
        }
    finally:
        servers.stop()
    return {
        "cold_start_s": round(cold_start_s, 2),
        "levels": [dict(level.summary(), **cpu) for level, cpu in zip(levels, cpu_by_level, strict=True)],
        "latencies_ms": {level.concurrency: level.latencies_ms for level in levels},
        "nlu_parse_p50_ms": round(percentile(nlu, 50), 1),
        "nlu_parse_p95_ms": round(percentile(nlu, 95), 1),
        "long_conversation_block_p50_ms": block_medians(long_turns),
        "english_turn_p50_ms": round(percentile(by_language["en"], 50), 1),
        "spanish_turn_p50_ms": round(percentile(by_language["es"], 50), 1),
        **memory,
    }


def reference_run_once(
    args: argparse.Namespace, mix: List[List[str]], log: Any, init_dir: Path
) -> Dict[str, Any]:
    """The starter bot (tools/reference_bot.py) under the assistant's load: cold start, levels, memory."""
    bot = ReferenceBot(init_dir, output=log)
    started = time.perf_counter()
    bot.start()
    try:
        asyncio.run(drive(bot.rest_url, [["hello"]], 1, 1, need_reply=False))
        cold_start_s = time.perf_counter() - started
        progress("  reference (rasa init bot): warming up...")
        asyncio.run(drive(bot.rest_url, mix, 1, WARM_UP_MESSAGES, need_reply=False))
        levels = []
        for concurrency in args.concurrency:
            progress(f"  reference (rasa init bot): concurrency {concurrency}, {args.messages} messages...")
            levels.append(asyncio.run(drive(bot.rest_url, mix, concurrency, args.messages, need_reply=False)))
        process = bot.rasa_server.process
        rss = peak_rss_mb(process.pid) if process else None
    finally:
        bot.stop()
    return {
        "cold_start_s": round(cold_start_s, 2),
        "levels": [level.summary() for level in levels],
        "rasa_server_peak_rss_mb": rss,
    }


def reference_ratios(report: Dict[str, Any], reference: Dict[str, Any]) -> Dict[str, Optional[float]]:
    """The assistant's figures over the starter bot's, measured in the same run.

    Latency ratios (p50, p95) at each concurrency, throughput ratios at each
    concurrency, and cold start, training time and peak RSS ratios; None where
    the starter bot's figure is missing or 0. Below 1 is faster for latencies,
    above 1 is faster for throughput.
    """

    def ratio(ours: Optional[float], theirs: Optional[float]) -> Optional[float]:
        return round(ours / theirs, 2) if ours is not None and theirs else None

    ratios: Dict[str, Optional[float]] = {}
    for level, base in zip(report["levels"], reference["levels"], strict=False):
        concurrency = level["concurrency"]
        ratios[f"p50_c{concurrency}"] = ratio(level["p50_ms"], base["p50_ms"])
        ratios[f"p95_c{concurrency}"] = ratio(level["p95_ms"], base["p95_ms"])
        ratios[f"throughput_c{concurrency}"] = ratio(level["throughput_msg_s"], base["throughput_msg_s"])
    ratios["cold_start"] = ratio(report.get("cold_start_s"), reference.get("cold_start_s"))
    ratios["training"] = ratio(report.get("training_from_scratch_s"), reference.get("training_s"))
    ratios["rasa_server_peak_rss"] = ratio(
        report.get("rasa_server_peak_rss_mb"), reference.get("rasa_server_peak_rss_mb")
    )
    return ratios


def median_report_without_long(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Medians of the starter bot's runs: levels, cold start and peak RSS."""
    levels = []
    for index, level in enumerate(runs[0]["levels"]):
        levels.append(
            {
                key: (
                    round(statistics.median(run["levels"][index][key] for run in runs), 2)
                    if key != "concurrency"
                    else value
                )
                for key, value in level.items()
            }
        )
    present = [run["rasa_server_peak_rss_mb"] for run in runs if run["rasa_server_peak_rss_mb"] is not None]
    return {
        "runs": len(runs),
        "levels": levels,
        "cold_start_s": round(statistics.median(run["cold_start_s"] for run in runs), 2),
        "rasa_server_peak_rss_mb": round(statistics.median(present), 1) if present else None,
    }


def median_report(runs: List[Dict[str, Any]], train_s: Optional[float]) -> Dict[str, Any]:
    """Medians over repeated runs of every reported figure."""

    def med(values: List[Optional[float]]) -> Optional[float]:
        present = [v for v in values if v is not None]
        return round(statistics.median(present), 2) if present else None

    levels = []
    for index, level in enumerate(runs[0]["levels"]):
        levels.append(
            {
                key: (med([run["levels"][index][key] for run in runs]) if key != "concurrency" else value)
                for key, value in level.items()
            }
        )
    scalar_keys = [
        "cold_start_s",
        "nlu_parse_p50_ms",
        "nlu_parse_p95_ms",
        "rasa_server_peak_rss_mb",
        "action_server_peak_rss_mb",
        "english_turn_p50_ms",
        "spanish_turn_p50_ms",
    ]
    blocks = [run["long_conversation_block_p50_ms"] for run in runs]
    curve = [
        round(statistics.median(run_blocks[index] for run_blocks in blocks), 1)
        for index in range(len(blocks[0]))
    ]
    return {
        "runs": len(runs),
        "training_from_scratch_s": round(train_s, 1) if train_s is not None else None,
        "levels": levels,
        "long_conversation": {
            "block_turns": LONG_CONVERSATION_BLOCK,
            "block_p50_ms": curve,
            "last_to_first_block": round(curve[-1] / curve[0], 2) if curve and curve[0] else None,
        },
        **{key: med([run[key] for run in runs]) for key in scalar_keys},
    }


def spanish_to_english(report: Dict[str, Any]) -> Optional[float]:
    """Spanish p50 / English p50 for the same questions (issue 15: at most 1.10)."""
    english, spanish = report.get("english_turn_p50_ms"), report.get("spanish_turn_p50_ms")
    return round(spanish / english, 2) if english and spanish else None


def cpu_table(tables: List[Any]) -> List[str]:
    """Markdown lines: CPU ms per message by kind of process, per deployment and concurrency
    (tools/cpu_use.py); none for reports without the figures."""
    kinds = [cpu_use.key(kind) for kind in cpu_use.KINDS]
    rows = []
    for title, levels in tables:
        for level in levels:
            if f"cpu_ms_{kinds[0]}" not in level:
                return []
            deployment = title.rstrip(":") or "assistant"
            figures = " | ".join(str(level[f"cpu_ms_{kind}"]) for kind in kinds)
            rows.append(
                f"| {deployment} | {level['concurrency']} | {figures} | {level['machine_busy_cpu_ms']} |"
            )
    return [
        f"CPU ms per message, by process, on this machine's {os.cpu_count()} cores (tools/cpu_use.py):",
        "",
        "| deployment | concurrency | " + " | ".join(cpu_use.KINDS) + " | whole machine |",
        "|---|---:|" + "---:|" * (len(kinds) + 1),
        *rows,
        "",
    ]


def markdown(report: Dict[str, Any]) -> str:
    """The report as a Markdown table a person can read."""
    lines = [
        f"Target: {report.get('target', 'single')}"
        + (f" on {report['hosts']} hosts" if report.get("hosts") else "")
        + ". "
        f"Median of {report['runs']} run(s) on {os.cpu_count()} cores.",
        "",
    ]
    tables = [("", report["levels"])]
    if report.get("one_server_levels"):
        # A cluster run: the 2-server figures (every figure below is theirs) and the 1-server ones.
        tables = [("2 Rasa servers:", report["levels"]), ("1 Rasa server:", report["one_server_levels"])]
    for title, levels in tables:
        lines += [title, ""] if title else []
        lines += [
            "| concurrency | messages | errors | p50 ms | p95 ms | p99 ms | messages/s |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for level in levels:
            lines.append(
                f"| {level['concurrency']} | {level['messages']:.0f} | {level['errors']:.0f} | "
                f"{level['p50_ms']} | {level['p95_ms']} | {level['p99_ms']} | {level['throughput_msg_s']} |"
            )
        lines.append("")
    lines += cpu_table(tables)
    lines.pop()
    training = report["training_from_scratch_s"]
    lines += [
        "",
        "| figure | value |",
        "|---|---:|",
        "| NLU only (/model/parse) p50 / p95 ms | "
        f"{report['nlu_parse_p50_ms']} / {report['nlu_parse_p95_ms']} |",
        "| the same questions in English / in Spanish: p50 ms (ratio Spanish / English) | "
        f"{report.get('english_turn_p50_ms')} / {report.get('spanish_turn_p50_ms')} "
        f"({spanish_to_english(report)}) |",
        f"| cold start (process start to first answer) s | {report['cold_start_s']} |",
        f"| training from scratch s | {'not timed' if training is None else training} |",
        f"| Rasa server peak RSS MB | {report['rasa_server_peak_rss_mb']} |",
        f"| action server peak RSS MB | {report['action_server_peak_rss_mb']} |",
    ]
    long = report.get("long_conversation") or {}
    if long.get("block_p50_ms"):
        lines.append(
            f"| one long conversation: p50 ms per block of {long['block_turns']} turns | "
            + " / ".join(str(value) for value in long["block_p50_ms"])
            + f" (last / first: {long['last_to_first_block']}) |"
        )
    for concurrency, ratio in (report.get("throughput_ratio_2_to_1") or {}).items():
        lines.append(f"| throughput 2 servers / 1 server at concurrency {concurrency} | {ratio} |")
    reference = report.get("reference")
    if reference:
        lines += [
            "",
            "Reference: Rasa's starter bot (`rasa init`), same messages and load, same run "
            f"(median of {reference['runs']} run(s)).",
            "",
            "| concurrency | errors | p50 ms | p95 ms | messages/s "
            "| assistant / starter: p50 | p95 | messages/s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        ratios = report.get("ratio_to_reference") or {}
        for level in reference["levels"]:
            c = level["concurrency"]
            lines.append(
                f"| {c} | {level['errors']:.0f} | {level['p50_ms']} | {level['p95_ms']} | "
                f"{level['throughput_msg_s']} | {ratios.get(f'p50_c{c}')} | {ratios.get(f'p95_c{c}')} | "
                f"{ratios.get(f'throughput_c{c}')} |"
            )
        lines += [
            "",
            "| starter bot figure | value | assistant / starter |",
            "|---|---:|---:|",
            f"| cold start s | {reference['cold_start_s']} | {ratios.get('cold_start')} |",
            f"| training (rasa init) s | {reference['training_s']} | {ratios.get('training')} |",
            f"| Rasa server peak RSS MB | {reference['rasa_server_peak_rss_mb']} | "
            f"{ratios.get('rasa_server_peak_rss')} |",
        ]
    if report.get("stage_profile"):
        lines += ["", report["stage_profile"].rstrip("\n")]
    return "\n".join(lines) + "\n"


def chart(runs: List[Dict[str, Any]], report: Dict[str, Any], path: Path) -> None:
    """Latency distribution per concurrency and throughput against concurrency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right, long_axis) = plt.subplots(1, 3, figsize=(15, 4.2))
    latencies = runs[-1]["latencies_ms"]
    left.boxplot(
        [latencies[c] for c in latencies], labels=[str(c) for c in latencies], showfliers=True, whis=(5, 95)
    )
    left.set_title("Latency per member message (last run)")
    left.set_xlabel("concurrent conversations")
    left.set_ylabel("ms (log scale)")
    # Log scale: sequential latencies (tens of ms) and queued ones (seconds) on one chart.
    left.set_yscale("log")
    right.plot(
        [level["concurrency"] for level in report["levels"]],
        [level["throughput_msg_s"] for level in report["levels"]],
        marker="o",
    )
    right.set_title(f"Throughput (median of {report['runs']} runs)")
    right.set_xlabel("concurrent conversations")
    right.set_ylabel("messages/s")
    right.set_ylim(bottom=0)
    long = report.get("long_conversation") or {}
    curve = long.get("block_p50_ms") or []
    long_axis.plot(
        [(index + 1) * long.get("block_turns", 1) for index in range(len(curve))], curve, marker="o"
    )
    long_axis.set_title("One long conversation: p50 per block")
    long_axis.set_xlabel("turns so far")
    long_axis.set_ylabel("ms")
    long_axis.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark and write its reports."""
    parser = argparse.ArgumentParser(
        prog="make bench BENCH_ARGS=... (or python -m tools.bench)",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=300, help="messages per load level")
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[1, 8, 32, 128],
        help="concurrent conversations per load level",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs to take medians over")
    parser.add_argument("--skip-training", action="store_true", help="do not time training")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny load, to check it works: no starter bot, training time or threshold curve",
    )
    parser.add_argument(
        "--skip-threshold-curve", action="store_true", help="do not measure the fallback threshold curve"
    )
    parser.add_argument("--long-turns", type=int, default=300, help="turns of the one long conversation")
    parser.add_argument(
        "--skip-reference", action="store_true", help="do not measure the starter bot of `rasa init`"
    )
    parser.add_argument(
        "--profile-turns",
        type=int,
        default=100,
        help="member turns of the per-stage profile (tools/profile_turn.py); 0 skips it",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for the reports")
    parser.add_argument(
        "--target",
        choices=["single", "cluster", "review"],
        default="single",
        help="one assistant, or 1 then 2 Rasa servers behind nginx on Postgres + Redis, "
        "or the review report on a generated store (tools/review_bench.py)",
    )
    parser.add_argument(
        "--hosts",
        choices=HOST_MODES,
        default="loopback",
        help="--target cluster: every process on this host's loopback, or each on a "
        "network-namespace host of its own (netns; needs root)",
    )
    parser.add_argument(
        "--conversations", type=int, default=100_000, help="generated conversations (--target review)"
    )
    args = parser.parse_args(argv)
    if args.target == "review":
        from tools import review_bench

        return review_bench.main(1000 if args.smoke else args.conversations, args.out)
    if args.smoke:
        args.messages, args.concurrency, args.repeat, args.skip_training = 6, [1, 2], 1, True
        args.long_turns = 30
        # The starter bot trains for minutes; the profile is kept working with a few turns.
        args.skip_reference, args.profile_turns = True, 5
    if not MODEL_PATH.exists():
        print(f"error: no trained model at {MODEL_PATH}; run `make bench`.", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    if args.target == "cluster":
        missing = missing_services(cluster_stores()) if args.hosts == "loopback" else netns_missing()
        if missing:
            print("error: the cluster needs " + ", ".join(missing) + ".", file=sys.stderr)
            return 1
    mix = conversations()
    sizes = [1, 2] if args.target == "cluster" else [1]
    runs: Dict[int, List[Dict[str, Any]]] = {size: [] for size in sizes}
    # The starter bot is measured in each round right after the assistant, so
    # that both see the same machine load; the ratio is the figure.
    init_dir = None if args.skip_reference else new_init_dir()
    reference_runs: List[Dict[str, Any]] = []
    reference_train_s = 0.0
    try:
        with (args.out / "servers.log").open("wb") as log:
            if init_dir is not None:
                progress("reference: rasa init --no-prompt (creates and trains the starter bot)...")
                reference_train_s = create_and_train(init_dir, output=log)
            for number in range(1, args.repeat + 1):
                for size in sizes:
                    progress(f"run {number}/{args.repeat}: starting {args.target} ({size} Rasa server(s))...")
                    runs[size].append(run_once(args, mix, log, rasa_servers=size))
                if init_dir is not None:
                    progress(f"run {number}/{args.repeat}: starting the starter bot...")
                    reference_runs.append(reference_run_once(args, mix, log, init_dir))
    finally:
        if init_dir is not None:
            shutil.rmtree(init_dir.parent, ignore_errors=True)
    reference = None
    if reference_runs:
        reference = median_report_without_long(reference_runs)
        reference["training_s"] = round(reference_train_s, 1)
    train_s = None
    if not args.skip_training:
        progress("timing training from scratch...")
        train_s = training_seconds()
    stage_profile = None
    if args.profile_turns > 0:
        progress(f"per-stage profile of {args.profile_turns} member turns...")
        stage_profile = stage_profile_table(args.profile_turns, args.out / "profile.log")
    progress("")
    report = median_report(runs[sizes[-1]], train_s)
    report["target"] = args.target
    if args.target == "cluster":
        report["hosts"] = args.hosts
    if reference is not None:
        # The single assistant's figures: in a cluster run, the one-server run's.
        ours = median_report(runs[1] if args.target == "cluster" else runs[sizes[-1]], train_s)
        report["reference"] = reference
        report["ratio_to_reference"] = reference_ratios(ours, reference)
    report["stage_profile"] = stage_profile
    if args.target == "cluster":
        one = median_report(runs[1], None)
        report["one_server_levels"] = one["levels"]
        report["throughput_ratio_2_to_1"] = {
            level["concurrency"]: round(level["throughput_msg_s"] / base["throughput_msg_s"], 2)
            for level, base in zip(report["levels"], one["levels"], strict=False)
            if base["throughput_msg_s"]
        }
    runs_for_chart = runs[sizes[-1]]
    (args.out / "bench.json").write_text(json.dumps(report, indent=2))
    table = markdown(report)
    (args.out / "bench.md").write_text(table)
    chart(runs_for_chart, report, args.out / "bench.png")
    print(table)
    print(f"Wrote {args.out / 'bench.json'}, bench.md and bench.png.")
    if not (args.smoke or args.skip_threshold_curve):
        progress("measuring the fallback threshold curve...")
        rows = threshold_curve.write_curve(MODEL_PATH, args.out)
        progress("")
        print(threshold_curve.markdown(rows, threshold_curve.configured_threshold()))
        print(f"Wrote {args.out / 'threshold_curve.md'} and threshold_curve.png.")
    return 1 if any(level["errors"] for level in report["levels"]) else 0


if __name__ == "__main__":
    sys.exit(main())
