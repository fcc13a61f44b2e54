"""WebFinger, NodeInfo, host-meta and actor documents (PROTOCOL.md section 1)."""

from __future__ import annotations

from typing import Any

AS2 = {"Accept": "application/activity+json"}
DOMAIN = "coop1.test"


async def test_webfinger_acct_resolves_person_and_coop(client: Any, settings: Any) -> None:
    domain = settings.instance.domain
    for name, path in (("alice", "/users/alice"), ("velo", "/coops/velo")):
        resp = await client.get(
            "/.well-known/webfinger", params={"resource": f"acct:{name}@{domain}"}
        )
        assert resp.status == 200
        assert resp.content_type == "application/jrd+json"
        doc = await resp.json(content_type=None)
        assert doc["subject"] == f"acct:{name}@{domain}"
        self_links = [link for link in doc["links"] if link["rel"] == "self"]
        assert self_links == [
            {"rel": "self", "type": "application/activity+json", "href": f"http://{domain}{path}"}
        ]
        subscribe = [
            link
            for link in doc["links"]
            if link["rel"] == "http://ostatus.org/schema/1.0/subscribe"
        ]
        assert subscribe[0]["template"] == f"http://{domain}/authorize_interaction?uri={{uri}}"


async def test_webfinger_actor_url_and_server_resource(client: Any, settings: Any) -> None:
    base = settings.base_url
    resp = await client.get("/.well-known/webfinger", params={"resource": f"{base}/users/alice"})
    assert (await resp.json(content_type=None))["subject"].startswith("acct:alice@")
    # FEP-d556: the server's own URL names the instance actor.
    resp = await client.get("/.well-known/webfinger", params={"resource": f"{base}/"})
    assert resp.status == 200
    doc = await resp.json(content_type=None)
    assert doc["links"][0]["href"] == f"{base}/actor"


async def test_webfinger_unknown_is_404_and_malformed_is_400(client: Any, settings: Any) -> None:
    domain = settings.instance.domain
    for resource in (
        f"acct:nobody@{domain}",
        "acct:alice@elsewhere.test",
        "https://elsewhere.test/users/alice",
    ):
        resp = await client.get("/.well-known/webfinger", params={"resource": resource})
        assert resp.status == 404, resource
        assert "error" in await resp.json(content_type=None)
    for resource in ("alice", "acct:alice", "acct:a@b@c", "ftp://x/y", ""):
        resp = await client.get("/.well-known/webfinger", params={"resource": resource})
        assert resp.status == 400, resource
    resp = await client.get("/.well-known/webfinger")
    assert resp.status == 400


async def test_actor_document_follows_protocol_section_1(client: Any, settings: Any) -> None:
    base = settings.base_url
    resp = await client.get("/users/alice", headers=AS2)
    assert resp.status == 200
    assert resp.content_type == "application/activity+json"
    doc = await resp.json(content_type=None)
    assert doc["@context"][:4] == [
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    assert all(isinstance(c, dict) for c in doc["@context"][4:])
    actor = f"{base}/users/alice"
    assert doc["id"] == actor and doc["type"] == "Person"
    assert doc["preferredUsername"] == "alice"
    for key in ("inbox", "outbox", "followers", "following", "url", "published", "summary"):
        assert key in doc, key
    assert doc["endpoints"]["sharedInbox"] == f"{base}/inbox"
    assert doc["webfinger"] == f"alice@{settings.instance.domain}"
    assert doc["publicKey"]["id"] == f"{actor}#main-key"
    assert doc["publicKey"]["type"] == "CryptographicKey"
    assert doc["publicKey"]["owner"] == actor
    assert doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    (multikey,) = doc["assertionMethod"]
    assert multikey["type"] == "Multikey" and multikey["controller"] == actor
    assert multikey["publicKeyMultibase"].startswith("z6Mk")
    hrefs = {i["href"] for i in doc["generator"]["implements"]}
    assert {"https://w3id.org/fep/0837", "https://w3id.org/fep/8b32"} <= hrefs
    assert "PRIVATE" not in await resp.text()


async def test_keys_parse_and_match(client: Any) -> None:
    import base58
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    doc = await (await client.get("/users/alice", headers=AS2)).json(content_type=None)
    key = load_pem_public_key(doc["publicKey"]["publicKeyPem"].encode())
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    raw = base58.b58decode(doc["assertionMethod"][0]["publicKeyMultibase"][1:])
    assert raw[:2] == b"\xed\x01" and len(raw) == 34


async def test_group_and_instance_actor(client: Any, settings: Any) -> None:
    base = settings.base_url
    doc = await (await client.get("/coops/velo", headers=AS2)).json(content_type=None)
    assert doc["type"] == "Group"
    assert doc["affiliations"] == f"{base}/coops/velo/affiliations"
    assert doc["attributedTo"] == [f"{base}/users/alice"]
    doc = await (await client.get("/actor", headers=AS2)).json(content_type=None)
    assert doc["type"] == "Application" and doc["id"] == f"{base}/actor"
    assert doc["publicKey"]["owner"] == f"{base}/actor"


async def test_unknown_actor_is_404_in_both_representations(client: Any) -> None:
    assert (await client.get("/users/nobody", headers=AS2)).status == 404
    assert (await client.get("/users/nobody")).status == 404
    # a coop is not served at a person's URL
    assert (await client.get("/users/velo", headers=AS2)).status == 404


async def test_content_negotiation_serves_html_to_browsers(client: Any) -> None:
    resp = await client.get("/users/alice", headers={"Accept": "text/html,application/xhtml+xml"})
    assert resp.status == 200 and resp.content_type == "text/html"
    text = await resp.text()
    assert '<link rel="alternate" type="application/activity+json"' in text
    ld = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    resp = await client.get("/users/alice", headers={"Accept": ld})
    assert resp.content_type == "application/activity+json"


async def test_collections_are_paged(client: Any, settings: Any) -> None:
    for part in ("followers", "following", "outbox"):
        doc = await (await client.get(f"/users/alice/{part}", headers=AS2)).json(content_type=None)
        assert doc["type"] == "OrderedCollection" and doc["totalItems"] == 0
        page = await (
            await client.get(doc["first"].replace(settings.base_url, ""), headers=AS2)
        ).json(content_type=None)
        assert page["type"] == "OrderedCollectionPage"
        assert page["partOf"] == doc["id"]


async def test_nodeinfo_is_strict(client: Any, settings: Any) -> None:
    index = await (await client.get("/.well-known/nodeinfo")).json(content_type=None)
    rels = {link["rel"]: link["href"] for link in index["links"]}
    for version in ("2.0", "2.1"):
        href = rels[f"http://nodeinfo.diaspora.software/ns/schema/{version}"]
        resp = await client.get(href.replace(settings.base_url, ""))
        assert resp.status == 200
        doc = await resp.json(content_type=None)
        assert doc["version"] == version
        assert doc["software"]["name"] == "fedcoop"
        assert doc["protocols"] == ["activitypub"]
        assert isinstance(doc["openRegistrations"], bool)
        users = doc["usage"]["users"]
        assert all(type(users[k]) is int for k in ("total", "activeMonth", "activeHalfyear"))
        assert type(doc["usage"]["localPosts"]) is int
        assert "Vélo Coop" in doc["metadata"]["coops"]
        if version == "2.0":
            assert set(doc["software"]) == {"name", "version"}
    assert (await client.get("/nodeinfo/1.0")).status == 404


async def test_host_meta(client: Any, settings: Any) -> None:
    resp = await client.get("/.well-known/host-meta")
    assert resp.status == 200
    assert f"{settings.base_url}/.well-known/webfinger?resource={{uri}}" in await resp.text()
