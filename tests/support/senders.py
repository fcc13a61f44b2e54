"""Remote actors whose keys an instance already holds, and activities signed by them.

For tests that drive a real `fedcoop serve` with signed inbox POSTs without a remote server
to fetch keys from: the actors are written into the instance's database before it starts, as
a first contact would have cached them.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from fedcoop import clock, ids
from fedcoop.activitypub.hosts import host_of
from fedcoop.activitypub.httpsig_cavage import sign_request
from fedcoop.activitypub.keys import generate_rsa_private_key, public_key_to_pem
from fedcoop.db import Database
from fedcoop.social.remote_actors import RemoteActorRecord, upsert_remote_actor

INBOX_ACTORS = 5


@dataclass(frozen=True)
class Sender:
    uri: str
    key_id: str
    key: rsa.RSAPrivateKey


def seed_senders(data_dir: Path, count: int = INBOX_ACTORS) -> list[Sender]:
    """Remote actors whose keys the instance already holds (as after a first contact)."""
    senders = []
    for i in range(count):
        uri = f"https://remote{i}.example/users/sender{i}"
        senders.append(Sender(uri, uri + "#main-key", generate_rsa_private_key()))
    db = Database(data_dir / "fedcoop.sqlite3")

    def seed(conn: sqlite3.Connection) -> None:
        for sender in senders:
            host = host_of(sender.uri)
            record = RemoteActorRecord(
                uri=sender.uri,
                type="Person",
                username=sender.uri.rsplit("/", 1)[1],
                host=host,
                inbox=sender.uri + "/inbox",
                shared_inbox=f"https://{host}/inbox",
                public_key_id=sender.key_id,
                public_key_pem=public_key_to_pem(sender.key.public_key()),
            )
            upsert_remote_actor(conn, record, keys_may_change=True)

    db.write_sync(seed)
    return senders


def signed_create(sender: Sender, host: str, recipient: str) -> tuple[str, bytes, dict[str, str]]:
    origin = sender.uri.split("/users/")[0]
    activity_id = f"{origin}/activities/{ids.new_id()}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": activity_id,
        "type": "Create",
        "actor": sender.uri,
        "to": [recipient],
        "object": {
            "id": f"{origin}/notes/{ids.new_id()}",
            "type": "Note",
            "attributedTo": sender.uri,
            "to": [recipient],
            "content": "<p>Still free for the Friday shift?</p>",
        },
    }
    body = json.dumps(activity).encode()
    headers = {"Host": host, "Content-Type": "application/activity+json"}
    headers |= sign_request("POST", "/inbox", headers, body, sender.key_id, sender.key, clock.now())
    return activity_id, body, headers
