"""The `pocket` command: a Pocket device in a terminal.

pocket [--state FILE] pair URI-or-QR.png [--name NAME]
pocket pending | devices | unpair
pocket approve [--number N] [CHALLENGE_ID]
pocket deny [--fraud] [CHALLENGE_ID]
pocket watch          long-polls and asks y/n (and the number); ends on EOF
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from plugins.pocket_mfa.client import device_api, device_key
from plugins.pocket_mfa.client import state as states
from plugins.pocket_mfa.client.qr import QrError, read_qr
from plugins.pocket_mfa.client.state import DeviceState, StateError
from plugins.pocket_mfa.push.protocol import NotAPairingCode, api_base, parse_pairing_uri

#: the device API's refusals that a person needs in plain words, by error code
PLAIN_REFUSALS = {
    "challenge_no_longer_valid": (
        "This request is no longer valid: the login was stopped or has expired."
    ),
}


class Refused(Exception):
    """A command cannot go on; the message says why."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    path = states.state_path(args.state)
    try:
        result: int = args.run(args, path)
        return result
    except device_api.ApiError as e:
        print(f"pocket: {refusal(e)}", file=sys.stderr)
        return 1
    except (Refused, StateError, QrError, NotAPairingCode) as e:
        print(f"pocket: {e}", file=sys.stderr)
        return 1
    except httpx.HTTPError as e:
        print(f"pocket: cannot reach the IdP: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pocket", description="A Pocket device.")
    parser.add_argument("--state", help=f"state file (env {states.ENV}, else {states.DEFAULT})")
    parser.add_argument("--base-url", help="device API base (default: from the issuer)")
    commands = parser.add_subparsers(dest="command", required=True)
    pair = commands.add_parser("pair", help="pair with an account, from a URI or a QR image")
    pair.add_argument("code", help="pocket://pair?... URI, or an image file of the QR code")
    pair.add_argument("--name", default=f"pocket on {socket.gethostname()}")
    pair.add_argument("--key-type", choices=sorted(device_key.KEY_TYPES), default="ec")
    pair.add_argument("--push-address", default="")
    pair.set_defaults(run=cmd_pair)
    commands.add_parser("pending", help="list open challenges").set_defaults(run=cmd_pending)
    approve = commands.add_parser("approve", help="approve a challenge")
    approve.add_argument("--number", type=int, help="the number the browser shows")
    approve.add_argument("challenge_id", nargs="?")
    approve.set_defaults(run=cmd_approve)
    deny = commands.add_parser("deny", help="deny a challenge")
    deny.add_argument("--fraud", action="store_true", help="report the login as fraud")
    deny.add_argument("challenge_id", nargs="?")
    deny.set_defaults(run=cmd_deny)
    watch = commands.add_parser("watch", help="wait for challenges and answer them")
    watch.add_argument("--wait", type=int, default=25, help="long-poll seconds (0..30)")
    watch.set_defaults(run=cmd_watch)
    commands.add_parser("devices", help="show this device").set_defaults(run=cmd_devices)
    commands.add_parser("unpair", help="unpair this device").set_defaults(run=cmd_unpair)
    return parser


# --- commands
def cmd_pair(args: argparse.Namespace, path: Path) -> int:
    code = args.code
    if Path(code).is_file():
        code = read_qr(Path(code))
    issuer, token = parse_pairing_uri(code)
    base_url = (args.base_url or api_base(issuer)).rstrip("/")
    private_key, alg = device_key.generate(args.key_type)
    public = device_key.public_part(private_key)
    paired = device_api.pair(base_url, token, public, args.name, args.push_address)
    state = DeviceState(
        device_id=paired["device_id"],
        issuer=paired["issuer"],
        base_url=base_url,
        account=paired["account"],
        name=args.name,
        private_key=private_key,
        alg=alg,
    )
    states.save(path, state)
    print(f"Paired {state.name!r} with {state.account} at {state.issuer} ({state.device_id}).")
    return 0


def cmd_pending(args: argparse.Namespace, path: Path) -> int:
    with _api(args, path) as api:
        found = api.challenges()
    if not found:
        print("No pending challenges.")
    for challenge in found:
        print(describe(challenge))
    return 0


def cmd_approve(args: argparse.Namespace, path: Path) -> int:
    with _api(args, path) as api:
        challenge = _pick(api, args.challenge_id)
        numbers = challenge.get("numbers")
        if numbers and args.number is None:
            shown = ", ".join(str(n) for n in numbers)
            raise Refused(f"pick the number the browser shows with --number ({shown})")
        return _report(api.answer(challenge["id"], "approve", args.number))


def cmd_deny(args: argparse.Namespace, path: Path) -> int:
    with _api(args, path) as api:
        challenge = _pick(api, args.challenge_id)
        return _report(api.answer(challenge["id"], "deny", fraud=args.fraud))


def cmd_watch(args: argparse.Namespace, path: Path) -> int:
    seen: set[str] = set()
    with _api(args, path) as api:
        print(f"Waiting for logins of {api.state.account} (Ctrl-D to stop).", flush=True)
        while True:
            for challenge in api.challenges(wait=max(0, min(args.wait, 30))):
                if challenge["id"] in seen:
                    continue
                seen.add(challenge["id"])
                try:
                    _ask(api, challenge)
                except EOFError:
                    print()
                    return 0


def cmd_devices(args: argparse.Namespace, path: Path) -> int:
    with _api(args, path) as api:
        info = api.device()
    print(f"{info['device_id']}  {info['name']}  ({api.state.account} at {api.state.issuer})")
    print(f"  paired {_when(info['paired_at'])}, last used {_when(info['last_used'])}")
    return 0


def cmd_unpair(args: argparse.Namespace, path: Path) -> int:
    with _api(args, path) as api:
        api.unpair()
    states.remove(path)
    print("Unpaired.")
    return 0


# --- helpers
def _api(args: argparse.Namespace, path: Path) -> device_api.DeviceApi:
    state = states.load(path)
    if args.base_url:
        state = DeviceState(**{**state.__dict__, "base_url": args.base_url.rstrip("/")})
    return device_api.DeviceApi(state)


def _pick(api: device_api.DeviceApi, challenge_id: str | None) -> dict[str, Any]:
    found = api.challenges()
    if challenge_id:
        for challenge in found:
            if challenge["id"] == challenge_id:
                return challenge
        # answer anyway: the IdP says why it is closed
        return {"id": challenge_id, "numbers": None}
    if not found:
        raise Refused("no pending challenge")
    if len(found) > 1:
        listed = "\n".join(describe(c) for c in found)
        raise Refused(f"several pending challenges; name one:\n{listed}")
    return found[0]


def _ask(api: device_api.DeviceApi, challenge: dict[str, Any]) -> None:
    print(describe(challenge), flush=True)
    yes = _prompt("Approve this login? [y/n] ").lower().startswith("y")
    if not yes:
        fraud = _prompt("Report it as fraud? [y/N] ").lower().startswith("y")
        _answer(api, challenge["id"], "deny", None, fraud)
        return
    number = None
    if challenge.get("numbers"):
        shown = ", ".join(str(n) for n in challenge["numbers"])
        text = _prompt(f"Which number does the browser show? ({shown}) ")
        number = int(text) if text.strip().isdigit() else -1
    _answer(api, challenge["id"], "approve", number, False)


def _answer(
    api: device_api.DeviceApi, challenge_id: str, decision: str, number: int | None, fraud: bool
) -> None:
    try:
        _report(api.answer(challenge_id, decision, number, fraud))
    except device_api.ApiError as e:
        print(f"pocket: {refusal(e)}", file=sys.stderr, flush=True)


def _prompt(text: str) -> str:
    print(text, end="", flush=True)
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.strip()


def _report(status: str) -> int:
    messages = {
        "approved": "Approved.",
        "denied": "Denied.",
        "fraud": "Denied and reported as fraud.",
        "wrong_number": "Wrong number: the login was stopped.",
    }
    print(messages.get(status, status), flush=True)
    return 0 if status in ("approved", "denied", "fraud") else 1


def refusal(e: device_api.ApiError) -> str:
    """What a refusal of the IdP means, in plain words where the code is a known one."""
    return PLAIN_REFUSALS.get(e.error, str(e))


def describe(challenge: dict[str, Any]) -> str:
    where = ", ".join(p for p in (challenge.get("browser"), challenge.get("location")) if p)
    left = int(challenge["expires_at"] - time.time())
    line = (
        f"{challenge['id']}  {challenge['client_name']}  from {challenge['ip']}"
        f"{f' ({where})' if where else ''}  expires in {max(left, 0)} s"
    )
    if challenge.get("numbers"):
        line += "  numbers: " + " ".join(str(n) for n in challenge["numbers"])
    return line


def _when(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
