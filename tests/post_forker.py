"""Starts `flowdigest post` processes fast, for tests that kill them: a parent that has imported
flowdigest once forks a child per post (a real, separate process running the CLI's main),
so a test can start and SIGKILL dozens without paying Python's start-up each time.

Commands on stdin, one per line; one answer line each on stdout:
    start FOLDER  -> PID           (the child's stdout/stderr go to LOGS/PID.out, LOGS/PID.err)
    kill PID      -> killed | exited CODE   (SIGKILL unless it had already finished)
    wait PID      -> exited CODE
Run: python post_forker.py LOGS   (environment: the SLACK_* and FLOWDIGEST_STATE_DIR to use)
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import flowdigest.slack.poster  # noqa: F401  (imported once here, shared by every child)
from flowdigest.cli import main


def _status(status: int) -> str:
    return f"exited {os.waitstatus_to_exitcode(status)}"


def serve(logs: Path) -> None:
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "start":
            pid = os.fork()
            if pid == 0:
                me = os.getpid()
                for fd, suffix in ((1, "out"), (2, "err")):
                    os.dup2(os.open(logs / f"{me}.{suffix}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
                code = main(["post", arg])
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
            answer = str(pid)
        elif command == "kill":
            pid = int(arg)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                answer = _status(status)
            else:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                answer = "killed"
        elif command == "wait":
            answer = _status(os.waitpid(int(arg), 0)[1])
        else:
            answer = f"unknown command {command!r}"
        print(answer, flush=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
