"""What every federation service needs, made once in `make_app` and passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fedcoop.config import Settings
from fedcoop.db import Database
from fedcoop.uris import Uris

if TYPE_CHECKING:
    from fedcoop.federation.fetcher import Fetcher
    from fedcoop.federation.http_client import FederationClient
    from fedcoop.federation.policy import Policy


@dataclass
class FederationContext:
    db: Database
    uris: Uris
    settings: Settings
    http: FederationClient
    fetcher: Fetcher
    policy: Policy
