"""Fixed vocabulary: context URLs, media types and the extra terms fedcoop uses.

Only well-known context URLs that peers preload (Fedify, Mastodon) plus inline objects are
used: peers do not fetch other contexts, and fedcoop never fetches a remote one either.
"""

from __future__ import annotations

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})

AP_MEDIA_TYPE = "application/activity+json"
LD_MEDIA_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_MEDIA_TYPE = "application/jrd+json"
XRD_MEDIA_TYPE = "application/xrd+xml"
ACCEPT_HEADER = f"{AP_MEDIA_TYPE}, {LD_MEDIA_TYPE}"

# Terms beyond AS2 and security/v1 that fedcoop writes, defined inline (Mastodon's own
# namespace for manuallyApprovesFollowers/discoverable, FEP-2c59 `webfinger`, FEP-5219, FEP-0837).
EXTRA_TERMS: dict[str, object] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "webfinger": "https://purl.archive.org/socialweb/webfinger#webfinger",
    "fep": "https://w3id.org/fep/",
    "affiliations": {"@id": "https://w3id.org/fep/5219#affiliations", "@type": "@id"},
    "fedcoop": "https://fedcoop.org/ns#",
    "reviews": {"@id": "fedcoop:reviews", "@type": "@id"},
    "reputation": "fedcoop:reputation",
    "vf": "https://w3id.org/valueflows/ont/vf#",
    "schema": "https://schema.org/",
    "implements": {"@id": "https://w3id.org/fep/844e#implements", "@container": "@set"},
}

ACTOR_CONTEXT: list[object] = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    DID_CONTEXT,
    MULTIKEY_CONTEXT,
    EXTRA_TERMS,
]

AS2_MEDIA_TYPES = ("application/activity+json", "application/ld+json")


def is_as2_content_type(value: str | None) -> bool:
    """`application/activity+json`, or `application/ld+json` with the ActivityStreams profile."""
    if not value:
        return False
    main, _, params = value.partition(";")
    main = main.strip().lower()
    if main == "application/activity+json":
        return True
    if main == "application/ld+json":
        return "https://www.w3.org/ns/activitystreams" in params
    return False


def wants_as2(accept: str | None) -> bool:
    """Content negotiation on actor and object URLs: does this Accept header ask for AS2?

    Browsers send text/html first; ActivityPub clients send one of the AS2 types (Mastodon
    sends `application/activity+json, application/ld+json`). A bare `application/json` is
    served AS2 too, since scripts use it to look at documents.
    """
    if not accept:
        return False
    best_html = best_as2 = -1.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if media in ("application/activity+json", "application/ld+json", "application/json"):
            best_as2 = max(best_as2, q)
        elif media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, q)
    return best_as2 > 0 and best_as2 >= best_html


# FEP-0837 / ValueFlows and schema.org terms used by gigs, agreements and reviews
# (PROTOCOL.md section 5), defined inline: peers never fetch a context.
VF_TERMS: dict[str, object] = {
    "vf": "https://w3id.org/valueflows/ont/vf#",
    "schema": "https://schema.org/",
    "Proposal": "vf:Proposal",
    "Intent": "vf:Intent",
    "Agreement": "vf:Agreement",
    "Commitment": "vf:Commitment",
    "EconomicEvent": "vf:EconomicEvent",
    "purpose": "vf:purpose",
    "publishes": "vf:publishes",
    "reciprocal": "vf:reciprocal",
    "unitBased": "vf:unitBased",
    "action": "vf:action",
    "stipulates": "vf:stipulates",
    "stipulatesReciprocal": "vf:stipulatesReciprocal",
    "satisfies": "vf:satisfies",
    "fulfills": "vf:fulfills",
    "provider": "vf:provider",
    "receiver": "vf:receiver",
    "finished": "vf:finished",
    "hasBeginning": "vf:hasBeginning",
    "hasEnd": "vf:hasEnd",
    "resourceConformsTo": "vf:resourceConformsTo",
    "resourceQuantity": "vf:resourceQuantity",
    "effortQuantity": "vf:effortQuantity",
    "availableQuantity": "vf:availableQuantity",
    "minimumQuantity": "vf:minimumQuantity",
    "hasUnit": "vf:hasUnit",
    "hasNumericalValue": "vf:hasNumericalValue",
    "Rating": "schema:Rating",
    "reviewRating": "schema:reviewRating",
    "itemReviewed": "schema:itemReviewed",
    "ratingValue": "schema:ratingValue",
    "bestRating": "schema:bestRating",
    "worstRating": "schema:worstRating",
}

GIG_CONTEXT: list[object] = [AS_CONTEXT, DATA_INTEGRITY_CONTEXT, VF_TERMS]
FEP_0837 = "https://w3id.org/fep/0837"
PROPOSAL_LINK_REL = "https://w3id.org/valueflows/ont/vf#Proposal"
