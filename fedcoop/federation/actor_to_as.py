"""Local actors rendered as ActivityPub actor documents (PROTOCOL.md section 1)."""

from __future__ import annotations

from typing import Any

from fedcoop.accounts.actors import Actor
from fedcoop.activitypub.vocab import ACTOR_CONTEXT
from fedcoop.uris import Uris


def actor_to_as(
    actor: Actor,
    uris: Uris,
    *,
    admins: list[Actor] | None = None,
    icon_url: str | None = None,
    reputation: dict[str, Any] | None = None,
    reviews: str | None = None,
) -> dict[str, Any]:
    uri = actor.uri
    doc: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": uri,
        "type": actor.type,
        "preferredUsername": actor.username,
        "name": actor.display_name or actor.username,
        "summary": actor.summary,
        "url": actor.url,
        "inbox": actor.inbox,
        "outbox": actor.outbox,
        "followers": actor.followers,
        "following": actor.following,
        "endpoints": {"sharedInbox": actor.shared_inbox},
        "manuallyApprovesFollowers": actor.manually_approves,
        "discoverable": actor.type != "Application",
        "indexable": actor.type != "Application",
        "published": actor.created_at,
        "webfinger": f"{actor.username}@{uris.domain}",
        # Fedify needs `type` on the key and `owner` equal to the actor id.
        "publicKey": {
            "id": actor.public_key_id,
            "type": "CryptographicKey",
            "owner": uri,
            "publicKeyPem": actor.public_key_pem,
        },
        "assertionMethod": [
            {
                "id": actor.ed25519_key_id,
                "type": "Multikey",
                "controller": uri,
                "publicKeyMultibase": actor.ed25519_multibase,
            }
        ],
        "generator": {
            "type": "Application",
            "name": "fedcoop",
            "implements": actor.implements,
        },
    }
    if icon_url:
        doc["icon"] = {"type": "Image", "url": icon_url}
    if actor.also_known_as:
        doc["alsoKnownAs"] = actor.also_known_as
    if actor.moved_to:
        doc["movedTo"] = actor.moved_to
    # fedcoop's documented extension (FEDERATION.md): reviews about the actor, with their
    # proofs, and the reputation computed from them here.
    if reviews:
        doc["reviews"] = reviews
    if reputation is not None:
        doc["reputation"] = reputation
    if actor.type == "Group":
        doc["affiliations"] = uris.affiliations(uri)
        doc["attributedTo"] = [a.uri for a in (admins or [])]
        # FEP-1b12: a group addresses its own audience.
        doc["audience"] = uri
    elif actor.type == "Person":
        # The coop-signed Relationships this person holds, so any server can list their coops
        # (each claim is then checked with the coop's own affiliations: federation/affiliations).
        doc["affiliations"] = uris.affiliations(uri)
    return doc
