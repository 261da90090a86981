"""kill -9 at random moments never makes a message the server accepted arrive twice."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time

from notify_server import demo_ledger, make_certificate, start_server, write_config
from peertrain.ledger import NoticeState, open_ledger


def test_kill_9_at_random_moments_never_doubles_a_message(tmp_path):
    """Ten runs of 'peertrain notify' in a subprocess, each killed at a random moment (then a last
    run left alone), over successive days: the server never accepts a Message-ID twice, everything
    marked sent was accepted, and whatever was accepted is recorded sent or of unknown fate."""
    cert = make_certificate(tmp_path)
    controller, recorder = start_server(tmp_path, cert=cert)
    try:
        path = write_config(tmp_path, controller.port, cert=cert[0])
        path.write_text(path.read_text().replace("rate = 1000", "rate = 25"))
        ledger_path = demo_ledger(tmp_path / "team.ledger")
        rng = random.Random(20261115)
        day = dt.date(2026, 11, 15)
        for iteration in range(11):
            command = [sys.executable, "-m", "peertrain", "notify", "--ledger", str(ledger_path), "--config",
                       str(path), "--as-of", day.isoformat()]
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if iteration < 10:
                time.sleep(rng.uniform(0.3, 1.2))
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
            if iteration % 2:
                day += dt.timedelta(days=9)
        ids = [m["Message-ID"] for m in recorder.messages()]
        assert len(ids) == len(set(ids))
        assert ids
        with open_ledger(ledger_path) as ledger:
            sent = {r.draft.message_id for r in ledger.notices([NoticeState.SENT])}
            known = sent | {r.draft.message_id for r in ledger.notices([NoticeState.PENDING])}
        assert sent <= set(ids)
        assert set(ids) <= known
    finally:
        controller.stop()
