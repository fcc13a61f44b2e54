"""The background workers of one process, built from the federation context.

`build_workers` is the one place that decides which workers `fedcoop serve` runs; each worker
adds itself with one line. The outbox wakes the delivery worker when it has queued deliveries,
so a new post goes out at once rather than at the next poll.
"""

from __future__ import annotations

from fedcoop.federation import delivery, outbox
from fedcoop.federation.context import FederationContext
from fedcoop.federation.inbox_worker import InboxWorker
from fedcoop.federation.proposal_closer import ProposalCloser
from fedcoop.federation.review_publishing import ReviewSealWorker
from fedcoop.federation.workers import Supervisor


def build_workers(ctx: FederationContext) -> Supervisor:
    supervisor = Supervisor()
    settings = ctx.settings.delivery
    deliveries = delivery.DeliveryWorker(
        ctx, concurrency=settings.concurrency, per_host=settings.per_host
    )
    publisher = outbox.OutboxWorker(ctx, on_published=lambda: supervisor.wake(delivery.WORKER_NAME))
    supervisor.add(publisher.worker())
    supervisor.add(deliveries.worker())
    inbox = InboxWorker(ctx, on_applied=lambda: supervisor.wake(outbox.WORKER_NAME))
    supervisor.add(inbox.worker())
    closer = ProposalCloser(ctx, on_closed=lambda: supervisor.wake(outbox.WORKER_NAME))
    supervisor.add(closer.worker())
    supervisor.add(ReviewSealWorker(ctx.db).worker())
    return supervisor
