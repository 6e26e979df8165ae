#!/usr/bin/env python3
"""A stand-in external engine (like a TUFLOW executable) for the tests.

It reads its behaviour from the control file, so tests steer it through run overrides:
``Fake Sleep`` (seconds, total), ``Fake Steps``, ``Fake Exit Code``, ``Fake Ignore Term`` (ON).
It writes ``<Output Folder>/result.txt`` and ``<Log Folder>/fake.log`` and prints progress lines.
It deliberately shares no code with the platform: it is an outside program.
"""
import os
import signal
import sys
import time


def read_commands(path):
    commands = {}
    with open(path) as handle:
        for line in handle:
            line = line.split("!", 1)[0]
            if "==" in line:
                key, value = line.split("==", 1)
                commands[" ".join(key.lower().split())] = value.strip()
    return commands


def main():
    control = sys.argv[1]
    commands = read_commands(control)
    if commands.get("fake ignore term", "").upper() == "ON":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    here = os.path.dirname(control)
    output = os.path.join(here, commands.get("output folder", "results/"))
    logs = os.path.join(here, commands.get("log folder", "log/"))
    steps = int(commands.get("fake steps", "4"))
    pause = float(commands.get("fake sleep", "0.4")) / steps
    os.makedirs(output, exist_ok=True)
    os.makedirs(logs, exist_ok=True)
    with open(os.path.join(logs, "fake.log"), "w") as log:
        for step in range(1, steps + 1):
            line = f"step {step} of {steps} progress {step / steps:.3f}"
            print(line, flush=True)
            log.write(line + "\n")
            time.sleep(pause)
    with open(os.path.join(output, "result.txt"), "w") as result:
        result.write(f"{os.path.basename(control)} {commands.get('end time', '')}\n")
    code = int(commands.get("fake exit code", "0"))
    if code:
        print(f"fatal: failing on purpose with code {code}", flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
