"""What the tests take from the project's Dockerfile when they run the image's steps
without Docker: which files the build stage copies, and the final image's environment,
working folder, command and health check."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    name: str
    #: (sources relative to the build context, destination), for each COPY from the context
    copies: list[tuple[list[str], str]] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    command: list[str] = field(default_factory=list)
    #: the command of HEALTHCHECK (its exec form), empty without one
    healthcheck: list[str] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        found.append((keyword.upper(), arguments.strip()))
    return found


def stages(path: Path) -> list[Stage]:
    """The stages of the Dockerfile at `path`, in order."""
    result: list[Stage] = []
    for keyword, arguments in instructions(path.read_text()):
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else ""
            result.append(Stage(name))
        elif not result:
            continue
        elif keyword == "COPY" and not arguments.startswith("--from"):
            *sources, destination = shlex.split(arguments)
            result[-1].copies.append((sources, destination))
        elif keyword == "ENV":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                result[-1].environment[key] = value
        elif keyword == "WORKDIR":
            result[-1].workdir = arguments
        elif keyword == "CMD":
            result[-1].command = json.loads(arguments)
        elif keyword == "HEALTHCHECK" and " CMD " in f" {arguments} ":
            result[-1].healthcheck = json.loads(f" {arguments}".split(" CMD ", 1)[1])
    return result
