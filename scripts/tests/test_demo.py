"""scripts/demo.sh --source bluesky --live: the one command that shows real posts, run offline.

The live mode reads whatever JETSTREAM_URL names; here that is the testkit's Jetstream server
serving the bundled events, so the run is the live one minus the internet. The expected counts
come from the fixture files, matched here with X's keyword rule (a case-insensitive word),
never from the producer's matcher.

Skipped with SKIP_DEMO=1, as scripts/test.sh skips its demo runs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = sorted((REPO / "fixtures" / "jetstream").glob("*.jsonl"))
KEYWORD = "tokio"
PASSES = 3
# The demo builds and deploys before it reads: minutes on a cold machine.
SERVE_TIMEOUT_S = 1800


def matching_posts_per_pass(keyword: str) -> int:
    """Post creations in the fixtures whose text holds `keyword` as a word, any case."""
    count = 0
    for path in FIXTURES:
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            commit = event.get("commit") or {}
            if (
                event.get("kind") == "commit"
                and commit.get("collection") == "app.bsky.feed.post"
                and commit.get("operation") == "create"
                and keyword in re.findall(r"\w+", commit["record"].get("text", "").lower())
            ):
                count += 1
    return count


def events_per_pass() -> int:
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in FIXTURES)


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@unittest.skipIf(os.environ.get("SKIP_DEMO") == "1", "SKIP_DEMO=1")
class LiveDemoOffline(unittest.TestCase):
    def setUp(self):
        subprocess.run(["cargo", "build", "--quiet", "-p", "testkit"], cwd=REPO, check=True)
        self.jetstream = subprocess.Popen(
            [
                str(REPO / "target" / "debug" / "fake-jetstream"),
                "--port", "0",
                "--count", str(PASSES * events_per_pass()),
                "--interval-ms", "2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.addCleanup(self.jetstream.stdout.close)
        self.addCleanup(self.jetstream.wait)
        self.addCleanup(self.jetstream.kill)
        ready = self.jetstream.stdout.readline().strip()
        self.assertTrue(ready.startswith("fake-jetstream listening on "), ready)
        self.jetstream_url = ready.removeprefix("fake-jetstream listening on ")

    def test_live_reads_jetstream_url_then_serves_the_table_until_ctrl_c(self):
        expected = PASSES * matching_posts_per_pass(KEYWORD)
        self.assertGreater(expected, 0, "the fixtures must hold posts for the keyword")
        env = {**os.environ, "JETSTREAM_URL": self.jetstream_url}
        stderr_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.addCleanup(stderr_file.close)
        demo = subprocess.Popen(
            [
                "bash", str(REPO / "scripts" / "demo.sh"),
                "--source", "bluesky", "--live", "--seconds", "6",
                "--addr", "127.0.0.1:0", KEYWORD,
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            # A file, not a pipe: a cold build writes more than a pipe holds while no one reads.
            stderr=stderr_file,
            text=True,
            start_new_session=True,
        )
        pgid = demo.pid

        def stop_all():
            if group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
            demo.wait()
            demo.stdout.close()

        self.addCleanup(stop_all)

        # readline blocks: a demo that hangs is killed, which ends the read.
        watchdog = threading.Timer(SERVE_TIMEOUT_S, lambda: group_alive(pgid) and os.killpg(pgid, signal.SIGKILL))
        watchdog.start()
        self.addCleanup(watchdog.cancel)
        stdout_lines = []
        base = None
        while True:
            line = demo.stdout.readline()
            if not line:
                break
            stdout_lines.append(line)
            found = re.match(r"serving (http://\S+/) ", line)
            if found:
                base = found.group(1)
                break
        if base is None:
            stop_all()
            stderr_file.seek(0)
            self.fail("the demo never served:\n" + "".join(stdout_lines) + stderr_file.read()[-4000:])

        keywords = {k["keyword"]: k["posts"] for k in get_json(base + "api/keywords")}
        self.assertEqual(keywords, {KEYWORD: expected})
        stats = get_json(f"{base}api/stats?keyword={KEYWORD}&by=lang")
        self.assertEqual(stats["posts"], expected)
        self.assertEqual(sum(b["posts"] for b in stats["buckets"]), expected)
        # What the demo printed before serving is the same table.
        self.assertIn(f'"{KEYWORD}": {expected} posts', "".join(stdout_lines))

        # Ctrl-C reaches the whole foreground group: the demo stops everything it started.
        os.killpg(pgid, signal.SIGINT)
        demo.wait(timeout=60)
        stop_by = time.monotonic() + 30
        while group_alive(pgid) and time.monotonic() < stop_by:
            time.sleep(0.2)
        self.assertFalse(group_alive(pgid), "a process the demo started outlived it")
        with self.assertRaises(OSError):
            urllib.request.urlopen(base + "api/keywords", timeout=5)


if __name__ == "__main__":
    unittest.main()
