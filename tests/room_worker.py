"""A separate process that uses a room store the way an app process does, for tests/test_room_store.py.

    python tests/room_worker.py '<json>'

The JSON names the store ({"url": null} for SQLite in $VAE_EXPLORER_HOME, or a redis URL, with "prefix"),
the room ("code"), the join limits ("limits": [per_client, overall, window]) and the "action":

- "submit": join "members" members, print {"ready": true}, wait for a line on stdin, then send one
  submission per member ("kind": "poll" votes choice member_index % "choices"; "place" sends a z) and
  print each acknowledgement as a JSON line the moment the store returned it.
- "wrong": print {"ready": true}, wait for a line on stdin, then try "attempts" joins with room code
  "wrong_code" (client key "client", or a new key per attempt when it is null); print the refusal codes.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.room import RoomError, open_store  # noqa: E402
from services.room.ratelimit import JoinLimits  # noqa: E402


def _say(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main(spec: dict) -> None:
    options = {"limits": JoinLimits(*spec["limits"])} if spec.get("limits") else {}
    if spec.get("url"):
        options["prefix"] = spec["prefix"]
    store = open_store(spec.get("url") or "sqlite", **options)
    code, tag = spec["code"], spec.get("tag", "w")
    if spec["action"] == "submit":
        members = [store.join(code, f"{tag}-{i}") for i in range(spec["members"])]
        _say({"ready": True})
        sys.stdin.readline()
        for i, m in enumerate(members):
            if spec["kind"] == "poll":
                sub = store.submit_vote(code, m.member_id, i % spec["choices"])
            else:
                sub = store.submit_z(code, m.member_id, [i / 10, -i / 10])
            _say({"id": sub.id, "seq": sub.seq, "member": sub.member, "choice": sub.choice, "z": list(sub.z)})
    elif spec["action"] == "wrong":
        _say({"ready": True})
        sys.stdin.readline()
        results = []
        for i in range(spec["attempts"]):
            try:
                store.join(spec["wrong_code"], spec.get("client") or f"{tag}-{i}")
                results.append("joined")
            except RoomError as e:
                results.append(e.code)
        _say({"results": results})
    store.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
